// Scale-out benchmark (issue 20), ratios against baselines measured in the same run:
//  1. channels store: durable messages/s in one channel (8 writers) and post-to-delivery p50 to a waiting
//     sync_messages, PostgreSQL vs SQLite (same-process services; with PostgreSQL also across two replicas);
//  2. PostgreSQL statements (round trips) per post, without and with a bot;
//  3. proxy: aggregate tools/call throughput of 2 proxy processes vs 1 (same machine, same echo children), and the
//     PostgreSQL transactions the proxies cause per tool call (target 0: nothing on the hot path touches it);
//  4. OAuth on PostgreSQL: round trips per grant check (asked on every request an OAuth token makes; target 0 once
//     the replica knows the grant) and how long a revocation on one replica takes to reach another's memory (p50).
//   node bench/scale-out.ts --postgres postgres://… [--duration 4000] [--deliveries 200] [--json-only]
// (--postgres defaults to MCPCP_TEST_POSTGRES_URL.) Prints a table to stderr and one JSON line to stdout.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateKeyPair, loadSigner } from '../auth/keys.ts';
import { issueAgentToken } from '../auth/tokens.ts';
import { createInProcessBotRunner } from '../servers/bot-runner/runner.ts';
import { ChannelService } from '../servers/channels/service.ts';
import { createPostgresChannelStore, type PostgresChannelStore } from '../servers/channels/store/postgres.ts';
import { createSqliteChannelStore } from '../servers/channels/store/sqlite.ts';
import { createSilentLogger } from '../lib/log.ts';
import { openPostgresOAuthStore } from '../proxy/oauth/store-postgres.ts';
import type { ChannelStore } from '../servers/channels/store/types.ts';
import { counterBot } from '../tests/fixtures/bots/counter-bot.ts';
import { load, openMany } from './load.ts';
import { startEchoServers, startProxyProcess } from './processes.ts';

const { values } = parseArgs({
  options: {
    postgres: { type: 'string' },
    duration: { type: 'string', default: '4000' },
    deliveries: { type: 'string', default: '200' },
    'json-only': { type: 'boolean', default: false },
  },
});
// A benchmark script, not product code: it may take its database from the test convention.
const adminUrl = values.postgres ?? process.env.MCPCP_TEST_POSTGRES_URL;
if (adminUrl === undefined) {
  console.error(
    'usage: node bench/scale-out.ts --postgres postgres://user@host:port/db (or MCPCP_TEST_POSTGRES_URL)',
  );
  process.exit(2);
}
const durationMs = Number(values.duration);
const deliveries = Number(values.deliveries);
const say = (line: string): void => {
  if (!values['json-only']) console.error(line);
};
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;
const p50 = (samples: number[]): number =>
  [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? NaN;

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function service(store: ChannelStore): ChannelService {
  return new ChannelService({ store, runner: createInProcessBotRunner() });
}

/** A channel with alice and bob seated (and a bot when asked); returns its id. */
async function table(svc: ChannelService, bot: boolean): Promise<string> {
  const created = (await svc.createChannel(
    { agent: 'alice' },
    {
      name: 'bench',
      slots: [...(bot ? ['bot:ref'] : []), 'invite:a', 'invite:b'],
      ...(bot ? { bot_code: counterBot, bot_params: { rounds: 1_000_000 } } : {}),
    },
  )) as { channel_id: string; invites: Array<{ code: string }> };
  await svc.joinChannel({ agent: 'alice' }, { invite_code: created.invites[0]!.code });
  await svc.joinChannel({ agent: 'bob' }, { invite_code: created.invites[1]!.code });
  return created.channel_id;
}

async function throughput(svc: ChannelService, channelId: string): Promise<number> {
  let posted = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      while (performance.now() < deadline) {
        await svc.postMessage({ agent: w % 2 ? 'alice' : 'bob' }, { channel_id: channelId, body: { w } });
        posted += 1;
      }
    }),
  );
  return posted / ((performance.now() - start) / 1000);
}

/** Post on `writer`, a long poll waiting on `reader` (the same service, or another replica): ms to delivery. */
async function delivery(writer: ChannelService, reader: ChannelService, channelId: string): Promise<number> {
  const samples: number[] = [];
  let cursor = (await reader.syncMessages({ agent: 'bob' }, { channel_id: channelId, limit: 1_000_000 }))
    .cursor;
  for (let i = 0; i < deliveries; i += 1) {
    const waiting = reader.syncMessages({ agent: 'bob' }, { channel_id: channelId, cursor, wait_ms: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 2));
    const t0 = performance.now();
    await writer.postMessage({ agent: 'alice' }, { channel_id: channelId, body: i });
    const got = await waiting;
    samples.push(performance.now() - t0);
    cursor = got.cursor;
  }
  return p50(samples);
}

async function roundTripsPerPost(
  store: PostgresChannelStore,
  svc: ChannelService,
  channelId: string,
): Promise<number> {
  const posts = 200;
  const before = store.roundTrips;
  for (let i = 0; i < posts; i += 1)
    await svc.postMessage({ agent: i % 2 ? 'alice' : 'bob' }, { channel_id: channelId, body: i });
  return (store.roundTrips - before) / posts;
}

async function storeFigures(dir: string, dbUrl: string) {
  const sqlite = createSqliteChannelStore({ file: path.join(dir, 'channels.sqlite') });
  const schemaUrl = (schema: string): string => {
    const url = new URL(dbUrl);
    url.searchParams.set('schema', schema);
    return url.toString();
  };
  const pgA = await createPostgresChannelStore({ url: schemaUrl('bench') });
  const pgB = await createPostgresChannelStore({ url: schemaUrl('bench') });
  try {
    const lite = service(sqlite);
    const replicaA = service(pgA);
    const replicaB = service(pgB);
    say('channels store: throughput (8 writers, one channel)');
    const sqliteRate = await throughput(lite, await table(lite, false));
    const pgRate = await throughput(replicaA, await table(replicaA, false));
    say('channels store: delivery to a waiting long poll');
    const sqliteDelivery = await delivery(lite, lite, await table(lite, false));
    const pgDelivery = await delivery(replicaA, replicaA, await table(replicaA, false));
    const crossChannel = await table(replicaA, false);
    const pgCrossDelivery = await delivery(replicaA, replicaB, crossChannel);
    say('channels store: PostgreSQL round trips per post');
    const plain = await roundTripsPerPost(pgA, replicaA, await table(replicaA, false));
    const withBot = await roundTripsPerPost(pgA, replicaA, await table(replicaA, true));
    return {
      messagesPerSecond: {
        sqlite: round(sqliteRate, 0),
        postgres: round(pgRate, 0),
        ratio: round(pgRate / sqliteRate),
      },
      deliveryP50Ms: {
        sqlite: round(sqliteDelivery),
        postgres: round(pgDelivery),
        postgresAcrossReplicas: round(pgCrossDelivery),
        ratio: round(pgDelivery / sqliteDelivery),
        acrossReplicasRatio: round(pgCrossDelivery / sqliteDelivery),
      },
      postgresRoundTripsPerPost: { noBot: round(plain), withBot: round(withBot) },
    };
  } finally {
    await Promise.all([sqlite.close(), pgA.close(), pgB.close()]);
  }
}

async function databaseTransactions(name: string): Promise<number> {
  return admin(async (client) => {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query<{ n: string }>(
      'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1',
      [name],
    );
    return Number(rows[0]?.n ?? 0);
  });
}

async function proxyFigures(dir: string, dbName: string) {
  const children: ChildProcess[] = [];
  try {
    const keysDir = path.join(dir, 'keys');
    await generateKeyPair(keysDir);
    const signer = await loadSigner(keysDir);
    const echo = await startEchoServers(1);
    children.push(echo.child);
    const configFile = (replicas: number): string => path.join(dir, `mcpcp-${replicas}.yaml`);
    for (const replicas of [1, 2]) {
      await writeFile(
        configFile(replicas),
        `proxy:
  listen: { host: 127.0.0.1, port: 0 }
  publicUrl: http://bench.test
  keysDir: ./keys
  replicas: ${replicas}
servers:
  - { id: e1, transport: http, url: ${echo.urls[0]}, protocol: auto }
agents:
  bench: {}
policy:
  rules:
    - { id: all, subjects: [bench], servers: [e1], allow: ['e1_*'], rateLimit: { requestsPerMinute: 100000000 } }
`,
      );
    }
    const run = async (replicas: number) => {
      const proxies = await Promise.all(
        Array.from({ length: replicas }, () => startProxyProcess(configFile(replicas), [])),
      );
      children.push(...proxies.map((p) => p.child));
      const token = await issueAgentToken(signer, {
        issuer: proxies[0]!.issuer,
        audience: proxies[0]!.resource,
        agent: 'bench',
        ttlSeconds: 3600,
      });
      const sessions = (
        await Promise.all(proxies.map((p) => openMany(p.mcpUrl, token, 32 / replicas)))
      ).flat();
      await load(sessions, 'e1_echo', 1_000);
      const before = await databaseTransactions(dbName);
      const result = await load(sessions, 'e1_echo', durationMs);
      await new Promise((resolve) => setTimeout(resolve, 700));
      const transactions = (await databaseTransactions(dbName)) - before;
      await Promise.all(sessions.map((s) => s.close()));
      for (const p of proxies) p.child.kill('SIGTERM');
      return { rps: result.rps, p50: result.p50, calls: result.calls, transactions };
    };
    say('proxy: 1 replica');
    const one = await run(1);
    say('proxy: 2 replicas');
    const two = await run(2);
    return {
      callsPerSecond: {
        oneReplica: round(one.rps, 0),
        twoReplicas: round(two.rps, 0),
        ratio: round(two.rps / one.rps),
      },
      p50Ms: { oneReplica: round(one.p50), twoReplicas: round(two.p50) },
      postgresTransactionsPerToolCall: round(
        (one.transactions + two.transactions) / (one.calls + two.calls),
        4,
      ),
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
  }
}

/** Two replicas' OAuth stores on one schema: grant checks from memory, and revocations heard through NOTIFY. */
async function oauthFigures(url: string) {
  const logger = createSilentLogger();
  const [a, b] = await Promise.all([
    openPostgresOAuthStore({ url, logger }),
    openPostgresOAuthStore({ url, logger }),
  ]);
  try {
    const checks = 10_000;
    await a.adapterFor('Grant').upsert('g-hot', { accountId: 'carol' }, 3600);
    await a.setGrantAgent('g-hot', 'carol', 'alice');
    // The binding's own write is announced too; once that has arrived, b keeps what it reads.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await b.grantAgent('g-hot');
    const before = b.roundTrips;
    for (let i = 0; i < checks; i += 1) await b.grantAgent('g-hot');
    const perCheck = (b.roundTrips - before) / checks;
    const reach: number[] = [];
    for (let i = 0; i < 50; i += 1) {
      const id = `g-${i}`;
      await a.adapterFor('Grant').upsert(id, { accountId: 'carol' }, 3600);
      await a.setGrantAgent(id, 'carol', 'alice');
      await new Promise((resolve) => setTimeout(resolve, 20));
      await b.grantAgent(id);
      const t0 = performance.now();
      await a.adapterFor('Grant').destroy(id);
      while ((await b.grantAgent(id)) !== undefined) await new Promise((resolve) => setImmediate(resolve));
      reach.push(performance.now() - t0);
    }
    return { roundTripsPerGrantCheck: round(perCheck, 4), revocationReachP50Ms: round(p50(reach)) };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpcp-bench-scale-'));
  const dbName = `mcpcp_bench_${randomBytes(4).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE "${dbName}"`));
  const dbUrl = new URL(adminUrl!);
  dbUrl.pathname = `/${dbName}`;
  try {
    // The proxy first: the store phase leaves autovacuum work on the database that would count as transactions.
    const proxy = await proxyFigures(dir, dbName);
    const store = await storeFigures(dir, dbUrl.toString());
    say('oauth: grant checks and revocations across two replicas');
    const oauthUrl = new URL(dbUrl);
    oauthUrl.searchParams.set('schema', 'mcpcp_oauth');
    const oauth = await oauthFigures(oauthUrl.toString());
    say(JSON.stringify({ store, proxy, oauth }, null, 2));
    console.log(JSON.stringify({ bench: 'scale-out', store, proxy, oauth }));
  } finally {
    await admin((client) => client.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
