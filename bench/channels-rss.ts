// Channels RSS under hostile bots: a real channels server process (hooks in its sandbox worker, as in the default
// fleet) runs every bot of bench/hostile-corpus.ts once per round, through the MCP tools; the process's resident
// memory is sampled every 100 ms. Reports the baseline (after a warm-up game), the peak, the RSS after each round,
// and after the server has been idle for a while, each as a ratio to the baseline measured in the same run.
//   node bench/channels-rss.ts [--rounds 3] [--idle 10000] [--json-only]
// Prints a table to stderr and one JSON line to stdout. Target (issue 16): growth capped (no climb from round to
// round) and returned once idle.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { issueChildToken } from '../auth/internal.ts';
import { generateKeyPair, loadSigner } from '../auth/keys.ts';
import { hostileCorpus } from './hostile-corpus.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    idle: { type: 'string', default: '10000' },
    'json-only': { type: 'boolean', default: false },
  },
});
const say = (line: string): void => {
  if (!values['json-only']) console.error(line);
};
const issuer = 'http://bench.test';
const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}

function startChannels(keysDir: string, dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['servers/channels/main.ts', '--keys-dir', keysDir, '--issuer', issuer, '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '', MCPCP_LOG_LEVEL: 'error' } },
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; url?: string };
      if (event.event === 'listening' && event.url !== undefined) resolve({ url: event.url, child });
    });
    child.once('exit', (code) => reject(new Error(`channels server exited ${code}`)));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpcp-rss-'));
  await generateKeyPair(join(dir, 'keys'));
  const signer = await loadSigner(join(dir, 'keys'));
  const { url, child } = await startChannels(join(dir, 'keys'), join(dir, 'data'));
  const pid = child.pid!;
  const client = new Client({ name: 'bench-rss', version: '1.0.0' });
  const token = await issueChildToken(signer, {
    issuer,
    child: 'channels',
    agent: 'alice',
    ttlSeconds: 3600,
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  const call = async <T>(name: string, args: Record<string, unknown>): Promise<T> => {
    const result = await client.callTool({ name, arguments: args });
    if (result.isError === true) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
    return result.structuredContent as T;
  };
  const play = async (body: string): Promise<string> => {
    const created = await call<{ channel_id: string; invites: Array<{ code: string }> }>('create_channel', {
      name: 'rss',
      slots: ['bot:ref', 'invite:a'],
      bot_code: `class H { constructor(ctx) { this.ctx = ctx; } onMessage() { const ctx = this.ctx; ${body} } }`,
    });
    await call('join_channel', { invite_code: created.invites[0]!.code });
    const posted = await call<{ replies: Array<{ kind: string; body: { code?: string } }> }>('post_message', {
      channel_id: created.channel_id,
      body: 'go',
    });
    const error = posted.replies.find((m) => m.kind === 'bot:error');
    return error?.body.code ?? 'ok';
  };

  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 100);
  try {
    for (let i = 0; i < 5; i += 1) await play(`ctx.post('bot', { n: ${i} });`);
    await sleep(2_000);
    const baseline = rssOf(pid);
    peak = baseline;
    say(`baseline after a warm-up: ${mib(baseline)} MiB`);
    const rounds: Array<{ rss: number; ms: number; codes: Record<string, number> }> = [];
    for (let round = 1; round <= Number(values.rounds); round += 1) {
      const started = performance.now();
      const codes: Record<string, number> = {};
      for (const bot of hostileCorpus) {
        const code = await play(bot.body);
        codes[code] = (codes[code] ?? 0) + 1;
      }
      const rss = rssOf(pid);
      rounds.push({ rss, ms: Math.round(performance.now() - started), codes });
      say(
        `round ${round}: ${mib(rss)} MiB (peak so far ${mib(peak)}) in ${rounds.at(-1)!.ms} ms ${JSON.stringify(codes)}`,
      );
    }
    await sleep(Number(values.idle));
    const idle = rssOf(pid);
    say(`after ${values.idle} ms idle: ${mib(idle)} MiB`);
    const ratio = (n: number): number => Math.round((n / baseline) * 100) / 100;
    const result = {
      bench: 'channels-rss',
      bots: hostileCorpus.length,
      baseline_mib: mib(baseline),
      peak_mib: mib(peak),
      peak_ratio: ratio(peak),
      rounds_mib: rounds.map((r) => mib(r.rss)),
      rounds_ratio: rounds.map((r) => ratio(r.rss)),
      idle_mib: mib(idle),
      idle_ratio: ratio(idle),
      codes: rounds[0]?.codes,
    };
    say(
      `peak ${result.peak_ratio}x baseline, rounds ${result.rounds_ratio.join(' / ')}x, idle ${result.idle_ratio}x`,
    );
    console.log(JSON.stringify(result));
  } finally {
    clearInterval(sampler);
    await client.close().catch(() => undefined);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
