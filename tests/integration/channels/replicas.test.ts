// Two real channels server processes (two replicas) on one PostgreSQL database: agents on either replica write one
// channel at once and the chain stays exact; a long poll or a channel:// subscription on one replica wakes when a post
// lands on the other (LISTEN/NOTIFY), and once more after the LISTEN connection comes back, for posts made while it
// was away; a bot channel whose every move goes to the other replica keeps its hooks in
// transcript order; a replica killed with SIGKILL loses nothing and blocks no one.
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { collectTranscript, toolCallerFor } from '../../../client/verify/fetch.ts';
import { verifyTranscript } from '../../../client/verify/verify.ts';
import { checkChain, type ChannelMessage } from '../../../servers/channels/transcript.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { counterBot } from '../../fixtures/bots/counter-bot.ts';
import { serviceAvailable } from '../../support/services.ts';
import {
  connectAgent,
  createHarness,
  startChildProcess,
  type AgentClient,
  type ChildServer,
  type Harness,
} from './harness.ts';

interface Created {
  channel_id: string;
  invites: Array<{ slot: string; code: string }>;
}

interface Synced {
  messages: ChannelMessage[];
  cursor: number;
  head: { seq: number; hash: string; jws: string | null };
}

describe.runIf(serviceAvailable('postgres'))('channels replicas on one PostgreSQL', () => {
  let h: Harness;
  let db: TestDatabase;
  let a: ChildServer;
  let b: ChildServer;
  const clients: AgentClient[] = [];
  const agent = async (server: ChildServer, name: string, modern = false): Promise<AgentClient> => {
    const client = await connectAgent(server.url, h, name, { modern });
    clients.push(client);
    return client;
  };

  /** A channel with two invite slots, created and joined by `first`, joined by `second`. */
  const openPair = async (first: AgentClient, second: AgentClient, name: string): Promise<string> => {
    const created = await first.call<Created>('create_channel', { name, slots: ['invite:a', 'invite:b'] });
    await first.call('join_channel', { invite_code: created.invites[0]!.code });
    await second.call('join_channel', { invite_code: created.invites[1]!.code });
    return created.channel_id;
  };
  /** `uri` watched by a 2025-era client (resources/subscribe) and a 2026-era one (subscriptions/listen). */
  const watch = async (legacy: AgentClient, modern: AgentClient, uri: string) => {
    const legacyUpdates: string[] = [];
    const modernUpdates: string[] = [];
    legacy.client.setNotificationHandler(
      'notifications/resources/updated',
      (n) => void legacyUpdates.push(n.params.uri),
    );
    modern.client.setNotificationHandler(
      'notifications/resources/updated',
      (n) => void modernUpdates.push(n.params.uri),
    );
    await legacy.client.subscribeResource({ uri });
    const subscription = await modern.client.listen({ resourceSubscriptions: [uri] });
    return { legacyUpdates, modernUpdates, subscription };
  };

  beforeAll(async () => {
    h = await createHarness();
    db = await createTestDatabase();
    // Both replicas start at once: the migrations run exactly once between them.
    [a, b] = await Promise.all([
      startChildProcess(h, ['--store', db.url, '--data-dir', `${h.dir}/a`]),
      startChildProcess(h, ['--store', db.url, '--data-dir', `${h.dir}/b`, '--allowed-hosts', 'channels']),
    ]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
    await h?.cleanup();
  });

  const get = (url: string, path: string, host?: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const target = new URL(path, url);
      const req = request(target, { method: 'GET', headers: host === undefined ? {} : { host } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('answers probes by any address and accepts the Host names it was told (a Service name)', async () => {
    expect(await get(a.url, '/healthz', '10.0.0.7:8081')).toMatchObject({ status: 200 });
    const ready = await get(b.url, '/readyz', '10.0.0.7:8081');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true });
    // An MCP request by the Service name: refused by A (loopback names only), past the Host check on B (401: no token).
    expect((await get(a.url, '/mcp', 'channels:8081')).status).toBe(403);
    expect((await get(b.url, '/mcp', 'channels:8081')).status).toBe(401);
  });

  it('keeps one exact chain when agents on both replicas post to one channel at once', async () => {
    const aliceA = await agent(a, 'alice');
    const bobB = await agent(b, 'bob');
    const aliceB = await agent(b, 'alice');
    const created = await aliceA.call<Created>('create_channel', {
      name: 'hammer',
      slots: ['invite:a', 'invite:b'],
    });
    await aliceA.call('join_channel', { invite_code: created.invites[0]!.code });
    await bobB.call('join_channel', { invite_code: created.invites[1]!.code });
    const id = created.channel_id;
    const posts = (who: AgentClient, tag: string, n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          who.call('post_message', { channel_id: id, body: `${tag}${i}`, client_msg_id: `${tag}${i}` }),
        ),
      );
    await Promise.all([posts(aliceA, 'aA', 30), posts(bobB, 'bB', 30), posts(aliceB, 'aB', 30)]);
    // A repeat on the other replica answers as the first did and appends nothing.
    const again = await aliceA.call<{ duplicate: boolean }>('post_message', {
      channel_id: id,
      body: 'ignored',
      client_msg_id: 'aB0',
    });
    expect(again.duplicate).toBe(true);
    const { messages, head } = await bobB.call<Synced>('sync_messages', {
      channel_id: id,
      cursor: 0,
      limit: 500,
    });
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: messages.length }, (_, i) => i + 1));
    expect(checkChain(id, messages)).toBeUndefined();
    const user = messages.filter((m) => m.kind === 'user').map((m) => String(m.body));
    expect(user).toHaveLength(90);
    expect(new Set(user).size).toBe(90);
    expect(head.seq).toBe(messages.at(-1)!.seq);
  });

  it('wakes a long poll and a channel:// subscriber on one replica when a post lands on the other', async () => {
    const alice = await agent(a, 'alice');
    const bobLegacy = await agent(b, 'bob');
    const bobModern = await agent(b, 'bob', true);
    const id = await openPair(alice, bobLegacy, 'wake');
    const uri = `channel://${id}`;
    const { legacyUpdates, modernUpdates, subscription } = await watch(bobLegacy, bobModern, uri);
    const { cursor } = await bobLegacy.call<Synced>('sync_messages', { channel_id: id });
    const started = Date.now();
    const poll = bobLegacy.call<Synced>('sync_messages', { channel_id: id, cursor, wait_ms: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await alice.call('post_message', { channel_id: id, body: 'across' });
    const woke = await poll;
    // Woken by the notification, not by the 20 s timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(woke.messages.map((m) => m.body)).toEqual(['across']);
    await vi.waitFor(() => {
      expect(legacyUpdates).toContain(uri);
      expect(modernUpdates).toContain(uri);
    });
    await subscription.close();
  });

  it('wakes long polls and channel:// subscribers once after its LISTEN connection comes back, for posts made while it was away', async () => {
    const alice = await agent(a, 'alice');
    const bobLegacy = await agent(b, 'bob');
    const bobModern = await agent(b, 'bob', true);
    // One channel only subscribed to (no long poll on it: nothing else re-reads it), one only long-polled.
    const watched = await openPair(alice, bobLegacy, 'watched');
    const polled = await openPair(alice, bobLegacy, 'polled');
    const uri = `channel://${watched}`;
    const { legacyUpdates, modernUpdates, subscription } = await watch(bobLegacy, bobModern, uri);
    const { cursor } = await bobLegacy.call<Synced>('sync_messages', { channel_id: polled });
    const poll = bobLegacy.call<Synced>('sync_messages', { channel_id: polled, cursor, wait_ms: 20_000 });
    const started = Date.now();
    // The replicas' LISTEN connections die and cannot come back until the database accepts connections again;
    // A's pool keeps the connections it has, so it can still post meanwhile.
    const database = new URL(db.url).pathname.slice(1);
    const maintenance = new URL(db.url);
    maintenance.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: maintenance.toString() });
    await admin.connect();
    const listeners = async (): Promise<number> =>
      (
        await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'`,
          [database],
        )
      ).rows[0]!.n;
    try {
      expect(await listeners()).toBe(2);
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'`,
        [database],
      );
      await vi.waitFor(async () => expect(await listeners()).toBe(0));
      await alice.call('post_message', { channel_id: watched, body: 'in the gap' });
      await alice.call('post_message', { channel_id: polled, body: 'in the gap too' });
      // B heard neither post: nothing told it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(legacyUpdates).toEqual([]);
      expect(modernUpdates).toEqual([]);
    } finally {
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
    }
    // Back: B's feed reconnects, and every waiter and subscriber re-reads once.
    await vi.waitFor(async () => expect(await listeners()).toBe(2), { timeout: 15_000 });
    await admin.end();
    const woke = await poll;
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(woke.messages.map((m) => m.body)).toEqual(['in the gap too']);
    await vi.waitFor(() => {
      expect(legacyUpdates).toContain(uri);
      expect(modernUpdates).toContain(uri);
    });
    const read = await bobLegacy.client.readResource({ uri });
    const text = read.contents[0] && 'text' in read.contents[0] ? read.contents[0].text : '';
    const { messages } = JSON.parse(text) as { messages: ChannelMessage[] };
    expect(messages.map((m) => m.body)).toContain('in the gap');
    await subscription.close();
  });

  it('runs bot hooks in transcript order across replicas, and a replica killed mid-game loses nothing', async () => {
    const alice = await agent(a, 'alice');
    const bob = await agent(b, 'bob');
    const created = await alice.call<Created>('create_channel', {
      name: 'bot',
      slots: ['bot:ref', 'invite:a', 'invite:b'],
      bot_code: counterBot,
      bot_params: { rounds: 1000 },
    });
    await alice.call('join_channel', { invite_code: created.invites[0]!.code, seed: 'alice' });
    await bob.call('join_channel', { invite_code: created.invites[1]!.code, seed: 'bob' });
    const id = created.channel_id;
    // Alice writes on A, Bob on B, at the same time; A dies (SIGKILL) mid-stream and Alice carries on on B with the
    // same client_msg_ids, so a post A stored before dying is answered as a duplicate, not stored twice.
    const aliceOnB = await agent(b, 'alice');
    const alicePosts = (async () => {
      for (let i = 0; i < 12; i += 1) {
        const args = { channel_id: id, body: `alice${i}`, client_msg_id: `alice${i}` };
        if (i === 6) a.process.kill('SIGKILL');
        await (i < 6 ? alice : aliceOnB)
          .call('post_message', args)
          .catch(() => aliceOnB.call('post_message', args));
      }
    })();
    const bobPosts = (async () => {
      for (let i = 0; i < 12; i += 1)
        await bob.call('post_message', { channel_id: id, body: `bob${i}`, client_msg_id: `bob${i}` });
    })();
    await Promise.all([alicePosts, bobPosts]);
    const transcript = await collectTranscript(toolCallerFor(bob.client, ''), id);
    const messages = transcript.messages;
    expect(checkChain(id, messages)).toBeUndefined();
    const moves = messages.filter((m) => m.from.type === 'agent');
    expect(moves.map((m) => m.body).sort()).toEqual(
      [
        ...Array.from({ length: 12 }, (_, i) => `alice${i}`),
        ...Array.from({ length: 12 }, (_, i) => `bob${i}`),
      ].sort(),
    );
    // Each move's hook ran right after it, in transcript order: its reply follows it and counts on by one.
    let n = 0;
    for (const move of moves) {
      const reply = messages.find((m) => m.seq > move.seq && m.from.type === 'bot');
      expect(reply?.reply_to).toBe(move.seq);
      n += 1;
      expect((reply?.body as { n: number }).n).toBe(n);
    }
    const jwks = JSON.parse(await readFile(join(h.keysDir, 'jwks.json'), 'utf8')) as JSONWebKeySet;
    const report = await verifyTranscript(transcript, { jwks });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
