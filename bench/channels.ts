// Channels benchmark: post-to-delivery latency to a waiting sync_messages (p50/p99), sustained messages per second in
// one channel with 8 members, and bot hook latency for a simple bot — directly against the channels server and
// through the proxy (child JWT, policy, namespacing). The channels server and the proxy run in their own processes;
// the load comes from the thin MCP client of bench/mcp-http-client.ts (the SDK client would eat the shared CPU).
//   node bench/channels.ts [--deliveries 300] [--duration 5000] [--hooks 300] [--json-only]
// Prints a table to stderr and one JSON line to stdout. Targets (issue 5): p50 delivery ≤ 5 ms through the proxy,
// ≥ 1,000 durable messages/s per channel, bot hook p50 ≤ 2 ms.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { issueChildToken } from '../auth/internal.ts';
import { generateKeyPair, loadSigner, type Signer } from '../auth/keys.ts';
import { issueAgentToken } from '../auth/tokens.ts';
import { createInProcessBotRunner } from '../servers/bot-runner/runner.ts';
import { ChannelService } from '../servers/channels/service.ts';
import { createSqliteChannelStore } from '../servers/channels/store/sqlite.ts';
import { BenchSession, destroyAgent } from './mcp-http-client.ts';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '300' },
    duration: { type: 'string', default: '5000' },
    hooks: { type: 'string', default: '300' },
    'json-only': { type: 'boolean', default: false },
  },
});
const say = (line: string): void => {
  if (!values['json-only']) console.error(line);
};

function summarise(samples: number[]): { p50: number; p99: number; mean: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const r = (n: number): number => Math.round(n * 100) / 100;
  return {
    p50: r(at(0.5)),
    p99: r(at(0.99)),
    mean: r(samples.reduce((a, b) => a + b, 0) / samples.length),
    n: samples.length,
  };
}

type Call = <T>(name: string, args: Record<string, unknown>) => Promise<T>;

async function connect(
  url: string,
  token: string,
  prefix: string,
): Promise<{ call: Call; close: () => Promise<void> }> {
  const session = await BenchSession.open(url, token);
  return {
    call: async <T>(name: string, args: Record<string, unknown>): Promise<T> => {
      const result = (await session.call('tools/call', { name: `${prefix}${name}`, arguments: args })) as {
        isError?: boolean;
        structuredContent?: unknown;
        content?: unknown;
      };
      if (result.isError === true) throw new Error(JSON.stringify(result.content));
      return result.structuredContent as T;
    },
    close: () => session.close(),
  };
}

function startChannelsProcess(
  keysDir: string,
  dataDir: string,
  issuer: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['servers/channels/main.ts', '--keys-dir', keysDir, '--issuer', issuer, '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '', MCPCP_LOG_LEVEL: 'warn' } },
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; url?: string };
      if (event.event === 'listening' && event.url !== undefined) resolve({ url: event.url, child });
    });
    child.once('exit', (code) => reject(new Error(`channels server exited ${code}`)));
  });
}

function startProxyProcess(
  configFile: string,
): Promise<{ mcpUrl: string; resource: string; issuer: string; child: ChildProcess }> {
  const child = fork(new URL('./proxy-process.ts', import.meta.url), [configFile], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.on('message', (message: { type: string; mcpUrl: string; resource: string; issuer: string }) => {
      if (message.type === 'listening') resolve({ ...message, child });
    });
    child.once('exit', (code) => reject(new Error(`proxy exited ${code}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const echoBot = `class Echo { constructor(ctx) { this.ctx = ctx; }
  onMessage(m) { const s = this.ctx.getState() || { n: 0 }; s.n++; this.ctx.setState(s); this.ctx.post('bot', { echo: m.body, n: s.n }); } }`;

async function scenario(
  label: string,
  url: string,
  tokenFor: (agent: string) => Promise<string>,
  prefix: string,
) {
  const agents = Array.from({ length: 8 }, (_, i) => `p${i}`);
  const clients = await Promise.all(agents.map(async (a) => connect(url, await tokenFor(a), prefix)));
  const [admin] = clients;
  const created = await admin!.call<{ channel_id: string; invites: Array<{ code: string }> }>(
    'create_channel',
    {
      name: 'bench',
      slots: agents.map((a) => `invite:${a}`),
    },
  );
  const channel = created.channel_id;
  await Promise.all(clients.map((c, i) => c.call('join_channel', { invite_code: created.invites[i]!.code })));

  // 1. Post-to-delivery: p1 waits in sync_messages, p0 posts; time until p1's poll returns.
  const poster = clients[0]!;
  const waiter = clients[1]!;
  let cursor = (await waiter.call<{ cursor: number }>('sync_messages', { channel_id: channel, limit: 500 }))
    .cursor;
  const deliveries: number[] = [];
  for (let i = 0; i < Number(values.deliveries); i += 1) {
    const waiting = waiter.call<{ cursor: number }>('sync_messages', {
      channel_id: channel,
      cursor,
      wait_ms: 20_000,
    });
    await new Promise((r) => setTimeout(r, 2));
    const started = performance.now();
    const [, got] = await Promise.all([
      poster.call('post_message', { channel_id: channel, body: { i } }),
      waiting.then((v) => ({ v, at: performance.now() })),
    ]);
    deliveries.push(got.at - started);
    cursor = got.v.cursor;
  }
  const delivery = summarise(deliveries);
  say(
    `${label}: post→delivery to a waiting sync_messages p50 ${delivery.p50} ms, p99 ${delivery.p99} ms (n=${delivery.n})`,
  );

  // 2. Throughput: all 8 members post as fast as they can for `duration` ms.
  const until = performance.now() + Number(values.duration);
  let posted = 0;
  let failed = 0;
  let firstError: string | undefined;
  const started = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      while (performance.now() < until) {
        try {
          await c.call('post_message', { channel_id: channel, body: { from: i, n: posted } });
          posted += 1;
        } catch (error) {
          failed += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  const perSecond = Math.round((posted / (performance.now() - started)) * 1000);
  say(
    `${label}: ${perSecond} durable messages/s in one channel, 8 members posting (${posted} messages` +
      `${failed > 0 ? `, ${failed} failed: ${firstError}` : ''})`,
  );

  // 3. End-to-end post with a bot reply.
  const botChannel = await admin!.call<{ channel_id: string; invites: Array<{ code: string }> }>(
    'create_channel',
    {
      name: 'bench-bot',
      slots: ['bot:echo', 'invite:p0'],
      bot_code: echoBot,
    },
  );
  await admin!.call('join_channel', { invite_code: botChannel.invites[0]!.code });
  const botPosts: number[] = [];
  for (let i = 0; i < 100; i += 1) {
    const t = performance.now();
    await admin!.call('post_message', { channel_id: botChannel.channel_id, body: { i } });
    botPosts.push(performance.now() - t);
  }
  const botPost = summarise(botPosts);
  say(`${label}: post_message with a bot reply (hook included) p50 ${botPost.p50} ms, p99 ${botPost.p99} ms`);
  await Promise.all(clients.map((c) => c.close()));
  return { delivery, messagesPerSecond: perSecond, failedPosts: failed, postWithBot: botPost };
}

const dir = await mkdtemp(join(tmpdir(), 'mcpcp-bench-channels-'));
const children: ChildProcess[] = [];
try {
  const keysDir = join(dir, 'keys');
  await generateKeyPair(keysDir);
  const signer: Signer = await loadSigner(keysDir);
  const issuer = 'http://mcpcp.bench';

  // Service-level figures (no HTTP): durable appends per second and the bot hook through the runner.
  const store = createSqliteChannelStore({ file: join(dir, 'service.sqlite') });
  const service = new ChannelService({ store, runner: createInProcessBotRunner() });
  const created = await service.createChannel({ agent: 'a' }, { name: 's', slots: ['invite:a'] });
  await service.joinChannel({ agent: 'a' }, { invite_code: created.invites[0]!.code });
  const serviceStart = performance.now();
  let serviceCount = 0;
  while (performance.now() - serviceStart < 2_000) {
    await service.postMessage({ agent: 'a' }, { channel_id: created.channel_id, body: { n: serviceCount } });
    serviceCount += 1;
  }
  const servicePerSecond = Math.round((serviceCount / (performance.now() - serviceStart)) * 1000);
  say(`service (no HTTP): ${servicePerSecond} durable messages/s in one channel (SQLite WAL)`);
  const runner = createInProcessBotRunner();
  const hookSamples: number[] = [];
  let state: unknown = null;
  let counter = 0;
  for (let i = 0; i < Number(values.hooks); i += 1) {
    const t = performance.now();
    const out = await runner.run({
      source: echoBot,
      params: null,
      hook: 'message',
      event: { seq: i, slot: 's1', agent: 'a', kind: 'user', body: { i } },
      state,
      randomKey: 'ab'.repeat(32),
      randomCounter: counter,
      now: 1,
    });
    hookSamples.push(performance.now() - t);
    state = out.state;
    counter = out.randomCounter;
  }
  const hook = summarise(hookSamples.slice(10));
  say(
    `bot hook (simple stateful echo bot, pristine prepared QuickJS context): p50 ${hook.p50} ms, p99 ${hook.p99} ms`,
  );
  await store.close();

  // Over HTTP, direct to the channels server process (child tokens).
  const channels = await startChannelsProcess(keysDir, join(dir, 'data'), issuer);
  children.push(channels.child);
  const direct = await scenario(
    'direct',
    channels.url,
    (agent) => issueChildToken(signer, { issuer, child: 'channels', agent, ttlSeconds: 3600 }),
    '',
  );

  // Through the proxy process (agent tokens, policy, namespacing, child JWT to the channels server).
  const yaml = `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  issuer: ${issuer}
  keysDir: ./keys
servers:
  - id: channels
    transport: http
    url: ${channels.url}
    firstParty: true
    protocol: 2025-11-25
policy:
  rules:
    - id: everyone-channels
      subjects: ['*']
      servers: [channels]
      allow: ['channels_*']
`;
  const configFile = join(dir, 'mcpcp.yaml');
  await writeFile(configFile, yaml);
  const proxy = await startProxyProcess(configFile);
  children.push(proxy.child);
  // A failing proxied run is reported, not fatal: the direct figures still stand.
  const proxied = await scenario(
    'proxy',
    proxy.mcpUrl,
    (agent) =>
      issueAgentToken(signer, { issuer: proxy.issuer, audience: proxy.resource, agent, ttlSeconds: 3600 }),
    'channels_',
  ).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    say(`proxy: run failed: ${message}`);
    return { error: message };
  });
  destroyAgent();
  console.log(
    JSON.stringify({
      bench: 'channels',
      service: { messagesPerSecond: servicePerSecond },
      botHook: hook,
      direct,
      proxy: proxied,
    }),
  );
} finally {
  // Children are stopped even when a scenario fails.
  for (const child of children.reverse()) await stop(child);
  await rm(dir, { recursive: true, force: true });
}
