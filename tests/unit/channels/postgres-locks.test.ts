// The per-channel lock of the PostgreSQL store and its round trips: a lone post costs two (lock + snapshot, then
// the append with the unlock after its COMMIT) and has given the lock back by the time it answers; a bot channel
// keeps the lock for the hook's write; a step queued behind another takes the lock over; a step that writes again
// after giving its lock back lands only where it left the head. Real PostgreSQL, two stores as two replicas.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createInProcessBotRunner } from '../../../servers/bot-runner/runner.ts';
import { ChannelService } from '../../../servers/channels/service.ts';
import {
  createPostgresChannelStore,
  type PostgresChannelStore,
} from '../../../servers/channels/store/postgres.ts';
import { checkChain } from '../../../servers/channels/transcript.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { serviceAvailable } from '../../support/services.ts';
import { botRecord, channelRecord, systemDraft } from './store-fixtures.ts';

describe.runIf(serviceAvailable('postgres'))('PostgreSQL channel locks', () => {
  let db: TestDatabase;
  let a: PostgresChannelStore;
  let b: PostgresChannelStore;
  let admin: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase('mcpcp_locks');
    const url = new URL(db.url);
    url.searchParams.set('schema', `s_${randomBytes(5).toString('hex')}`);
    [a, b] = await Promise.all([
      createPostgresChannelStore({ url: url.toString() }),
      createPostgresChannelStore({ url: url.toString() }),
    ]);
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await Promise.all([a?.close(), b?.close()]);
    await db?.drop();
  });

  /** Advisory locks held in this test's database right now (by either store). */
  const locksHeld = async (): Promise<number> => {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return rows[0]!.n;
  };
  const draft = (body: unknown) => systemDraft('x', body);
  const bodies = async (id: string): Promise<unknown[]> => {
    const messages = await b.readMessages(id, 0, 100);
    expect(checkChain(id, messages)).toBeUndefined();
    return messages.map((m) => m.body);
  };

  it('answers a lone post after two round trips, with the lock already given back', async () => {
    const svc = new ChannelService({ store: a, runner: createInProcessBotRunner() });
    const created = (await svc.createChannel({ agent: 'alice' }, { name: 'lone', slots: ['invite:a'] })) as {
      channel_id: string;
      invites: Array<{ code: string }>;
    };
    await svc.joinChannel({ agent: 'alice' }, { invite_code: created.invites[0]!.code });
    await vi.waitFor(async () => expect(await locksHeld()).toBe(0));
    for (let i = 0; i < 3; i += 1) {
      const before = a.roundTrips;
      const posted = await svc.postMessage({ agent: 'alice' }, { channel_id: created.channel_id, body: i });
      expect(a.roundTrips - before).toBe(2);
      // Nothing left to send: the unlock went with the append, after its COMMIT.
      expect(await locksHeld()).toBe(0);
      // Another replica's step, locking now, sees the post (its snapshot is taken after the unlock).
      expect(await b.exclusive(created.channel_id, () => b.head(created.channel_id))).toEqual({
        seq: posted.seq,
        hash: posted.hash,
      });
    }
  });

  it("keeps the lock of a bot channel's step for the hook's write, and gives it back after", async () => {
    await a.createChannel(channelRecord('bot'), [], [draft('genesis')]);
    const bot = botRecord('bot');
    await a.commit('bot', { bot, messages: [] });
    await a.exclusive('bot', async () => {
      await a.append('bot', [draft('move')]);
      expect(await locksHeld()).toBe(1);
      const saved = await a.getBot('bot');
      await a.saveBot(saved!, [draft('reply')]);
      expect(await locksHeld()).toBe(1);
    });
    await vi.waitFor(async () => expect(await locksHeld()).toBe(0));
    expect(await bodies('bot')).toEqual(['genesis', 'move', 'reply']);
  });

  it('hands the lock to a step queued behind: back-to-back steps cost one round trip each after the first', async () => {
    await a.createChannel(channelRecord('burst'), [], [draft('genesis')]);
    const before = a.roundTrips;
    let waiting = 2;
    const queued = (): boolean => waiting > 0;
    for (let i = 0; i < 3; i += 1) {
      await a.exclusive('burst', () => a.append('burst', [draft(i)]), queued);
      waiting -= 1;
    }
    // Lock + snapshot once, then one append each; the last carries the unlock.
    expect(a.roundTrips - before).toBe(4);
    expect(await locksHeld()).toBe(0);
    expect(await bodies('burst')).toEqual(['genesis', 0, 1, 2]);
  });

  it('lets a step write again after giving its lock back only where it left the head', async () => {
    await a.createChannel(channelRecord('again'), [], [draft('genesis')]);
    await a.exclusive('again', async () => {
      await a.append('again', [draft('first')]);
      expect(await locksHeld()).toBe(0);
      // Nothing moved: the second write lands after the first.
      await a.append('again', [draft('second')]);
      await b.append('again', [draft('other replica')]);
      // The channel moved on: this step's view is stale, so its write is refused rather than misplaced.
      await expect(a.append('again', [draft('stale')])).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
      await expect(a.commit('again', { messages: [draft('stale commit')] })).rejects.toMatchObject({
        code: 'ERR_CONFLICT',
      });
    });
    expect(await bodies('again')).toEqual(['genesis', 'first', 'second', 'other replica']);
  });
});
