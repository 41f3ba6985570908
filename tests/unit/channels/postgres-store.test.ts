// Runs the shared ChannelStore contract suite against the PostgreSQL implementation (a fresh schema per test in this
// file's own database), plus what only a shared database has: migrations recorded once however many replicas start
// together, appends by another replica announced by NOTIFY, and a chain that stays exact when two stores (two
// replicas) write one channel at once.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPostgresChannelStore } from '../../../servers/channels/store/postgres.ts';
import { checkChain } from '../../../servers/channels/transcript.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { serviceAvailable } from '../../support/services.ts';
import { channelRecord, systemDraft } from './store-fixtures.ts';
import { runChannelStoreSuite } from './store-suite.ts';

const enabled = serviceAvailable('postgres');

describe.runIf(enabled)('PostgreSQL channel store', () => {
  let db: TestDatabase;
  const schemaUrl = (): string => {
    const url = new URL(db.url);
    url.searchParams.set('schema', `s_${randomBytes(5).toString('hex')}`);
    return url.toString();
  };
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  runChannelStoreSuite('PostgreSQL', async () => {
    const url = schemaUrl();
    let store = await createPostgresChannelStore({ url });
    return {
      store,
      async reopen() {
        await store.close();
        store = await createPostgresChannelStore({ url });
        return store;
      },
      async cleanup() {
        await store.close();
      },
    };
  });

  const draft = (body: unknown) => systemDraft('x', body);

  it('records each migration once when replicas start at the same moment', async () => {
    const url = schemaUrl();
    const stores = await Promise.all([1, 2, 3].map(() => createPostgresChannelStore({ url })));
    try {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const schema = new URL(url).searchParams.get('schema')!;
      const { rows } = await client.query<{ id: number }>(
        `SELECT id FROM "${schema}".migrations ORDER BY id`,
      );
      await client.end();
      expect(rows.map((r) => r.id)).toEqual([1]);
      await stores[0]!.createChannel(channelRecord('c1'), [], [draft(0)]);
      expect((await stores[2]!.head('c1')).seq).toBe(1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it("announces another replica's appends to a watcher", async () => {
    const url = schemaUrl();
    const [a, b] = await Promise.all([
      createPostgresChannelStore({ url }),
      createPostgresChannelStore({ url }),
    ]);
    try {
      const heard: string[] = [];
      const got = new Promise<void>((resolve) => {
        a.watchAppends({
          appended: (id, seq) => {
            heard.push(`${id}@${seq}`);
            if (seq === 3) resolve();
          },
          resync: () => undefined,
        });
      });
      await b.createChannel(channelRecord('c1'), [], [draft(0)]);
      await b.append('c1', [draft(1), draft(2)]);
      await got;
      expect(heard).toEqual(['c1@1', 'c1@3']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps one exact chain when two replicas append to one channel at once', async () => {
    const url = schemaUrl();
    const [a, b] = await Promise.all([
      createPostgresChannelStore({ url }),
      createPostgresChannelStore({ url }),
    ]);
    try {
      await a.createChannel(channelRecord('c1'), [], [draft('genesis')]);
      // Half the writes take the channel's lock (as the service does), half race with the head guard alone.
      const writer = (store: typeof a, name: string) =>
        Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            i % 2 === 0
              ? store.exclusive('c1', () => store.append('c1', [draft(`${name}${i}`)]))
              : store.append('c1', [draft(`${name}${i}`)], { agent: name, clientMsgId: `m${i}` }),
          ),
        );
      await Promise.all([writer(a, 'a'), writer(b, 'b')]);
      const all = await a.readMessages('c1', 0, 1000);
      expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 81 }, (_, i) => i + 1));
      expect(checkChain('c1', all)).toBeUndefined();
      expect(new Set(all.map((m) => JSON.stringify(m.body))).size).toBe(81);
      expect(await b.head('c1')).toEqual({ seq: 81, hash: all.at(-1)!.hash });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses a bad address with ERR_CONFIG_INVALID and an unreachable one with ERR_STORE_UNAVAILABLE', async () => {
    await expect(
      createPostgresChannelStore({ url: 'postgres://x@127.0.0.1/db?schema=Bad-Name' }),
    ).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
    await expect(createPostgresChannelStore({ url: 'mysql://x@127.0.0.1/db' })).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
    // Port 1 on loopback: nothing listens there.
    const failure = createPostgresChannelStore({ url: 'postgres://x:secret@127.0.0.1:1/db' });
    await expect(failure).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    await expect(failure).rejects.not.toThrow(/secret/);
  });

  it('hears appends again after its LISTEN connection is cut, and asks for a resync; ping reports a lost database', async () => {
    const scratch = await createTestDatabase('mcpcp_feed');
    const url = new URL(scratch.url);
    url.searchParams.set('schema', 'feed');
    const [a, b] = await Promise.all([
      createPostgresChannelStore({ url: url.toString() }),
      createPostgresChannelStore({ url: url.toString() }),
    ]);
    try {
      let resyncs = 0;
      const heard: number[] = [];
      a.watchAppends({ appended: (_, seq) => void heard.push(seq), resync: () => void (resyncs += 1) });
      await b.createChannel(channelRecord('c1'), [], [draft(0)]);
      await vi.waitFor(() => expect(heard).toEqual([1]));
      // Cut every connection to the database (the LISTEN one among them), as a failover or a restart would.
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [new URL(scratch.url).pathname.slice(1)],
      );
      await admin.end();
      await vi.waitFor(() => expect(resyncs).toBe(1), { timeout: 10_000 });
      await b.append('c1', [draft(1)]);
      await vi.waitFor(() => expect(heard).toEqual([1, 2]), { timeout: 10_000 });
      expect(await a.ping()).toBe(true);
      await scratch.drop();
      expect(await a.ping()).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await scratch.drop();
    }
  });
});
