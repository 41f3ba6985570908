// The fleet form: `mcpcp up` starts the bot-runner and channels servers as first-party HTTP children (port 0, URL
// from their listening line), and an agent plays a bot game through the proxy with its own token and tries a bot
// hook on the bot-runner through the proxy. A second fleet runs the bot-runner on a fixed port named to channels by
// --bot-runner-url: the launcher waits for it to listen instead of restarting it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { counterBot } from '../../fixtures/bots/counter-bot.ts';

const issuer = 'http://mcpcp.fleet.test';

describe('channels and bot-runner in a fleet started by mcpcp up', () => {
  let dir: string;
  let up: ChildProcess | undefined;
  let mcpUrl: string;
  let resource: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpcp-channels-fleet-'));
    const keysDir = join(dir, 'keys');
    await generateKeyPair(keysDir);
    const yaml = fleetYaml(dir, {
      runnerUrl: 'http://127.0.0.1:0/mcp',
      rule: "{ id: alice-channels, subjects: [alice], servers: [channels, bot-runner], allow: ['channels_*', 'bot-runner_*'] }",
    });
    ({ up, mcpUrl, resource } = await startUp(dir, yaml));
  }, 60_000);

  afterAll(async () => {
    await stopUp(up);
    await rm(dir, { recursive: true, force: true });
  });

  it('plays an inline-bot game through the proxy, and reaches the bot-runner through the proxy', async () => {
    const { client, call } = await connectAlice(join(dir, 'keys'), { mcpUrl, resource });
    try {
      const created = await call<{ channel_id: string; invites: Array<{ code: string }> }>('create_channel', {
        name: 'fleet',
        slots: ['bot:ref', 'invite:alice'],
        bot_code: counterBot,
        bot_params: { rounds: 2 },
      });
      const view = await call<{ view: { bot: { runner_version: string } } }>('join_channel', {
        invite_code: created.invites[0]!.code,
      });
      expect(view.view.bot.runner_version).toContain('quickjs');
      await call('post_message', { channel_id: created.channel_id, body: 'one' });
      const last = await call<{ replies: Array<{ kind: string }> }>('post_message', {
        channel_id: created.channel_id,
        body: 'two',
      });
      expect(last.replies.map((r) => r.kind)).toEqual([
        'bot',
        'game:over',
        'fairness:reveal',
        'fairness:commit',
      ]);
      const dry = await client.callTool({
        name: 'bot-runner_run_hook',
        arguments: { source: counterBot, hook: 'init', randomKey: 'ab'.repeat(32), randomCounter: 0, now: 1 },
      });
      expect((dry.structuredContent as { posts: Array<{ kind: string }> }).posts[0]!.kind).toBe('bot');
    } finally {
      await client.close();
    }
  });

  it('runs hooks on a fixed-port bot-runner named by --bot-runner-url: the launcher waits for it to listen', async () => {
    const fixed = await mkdtemp(join(tmpdir(), 'mcpcp-channels-fixed-'));
    const port = await freePort();
    const runnerUrl = `http://127.0.0.1:${port}/mcp`;
    const keysDir = join(fixed, 'keys');
    await generateKeyPair(keysDir);
    const yaml = fleetYaml(fixed, {
      runnerUrl,
      runnerArgs: ['--port', String(port)],
      channelsArgs: ['--bot-runner-url', runnerUrl],
      rule: "{ id: alice-channels, subjects: [alice], servers: [channels], allow: ['channels_*'] }",
    });
    const started = await startUp(fixed, yaml);
    try {
      const runner = started.servers.find((server) => server.id === 'bot-runner');
      expect(runner).toMatchObject({ state: 'ready', address: runnerUrl });
      const { client, call } = await connectAlice(keysDir, started);
      try {
        const created = await call<{ channel_id: string; invites: Array<{ code: string }> }>(
          'create_channel',
          {
            name: 'fixed',
            slots: ['bot:ref', 'invite:alice'],
            bot_code: counterBot,
            bot_params: { rounds: 1 },
          },
        );
        await call('join_channel', { invite_code: created.invites[0]!.code });
        const last = await call<{ replies: Array<{ kind: string }> }>('post_message', {
          channel_id: created.channel_id,
          body: 'one',
        });
        expect(last.replies.map((r) => r.kind)).toContain('game:over');
      } finally {
        await client.close();
      }
    } finally {
      await stopUp(started.up);
      await rm(fixed, { recursive: true, force: true });
    }
  }, 90_000);
});

interface ServerRowLike {
  id: string;
  state: string;
  address?: string;
}

/** Runs `mcpcp up --json` on `yaml` in `dir` and resolves when the fleet is ready. */
async function startUp(
  dir: string,
  yaml: string,
): Promise<{ up: ChildProcess; mcpUrl: string; resource: string; servers: ServerRowLike[] }> {
  const configFile = join(dir, 'mcpcp.yaml');
  await writeFile(configFile, yaml);
  const up = spawn(
    process.execPath,
    ['launcher/bin/mcpcp.ts', 'up', '--config', configFile, '--data-dir', join(dir, 'run'), '--json'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    },
  );
  let stderr = '';
  up.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<{ mcpUrl: string; resource: string; servers: ServerRowLike[] }>(
    (resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`fleet not ready: ${stderr}`)), 40_000);
      createInterface({ input: up.stdout }).on('line', (line) => {
        const event = JSON.parse(line) as {
          event?: string;
          status?: { proxy: { mcpUrl: string; resource: string }; servers: ServerRowLike[] };
        };
        if (event.event === 'fleet-ready' && event.status) {
          clearTimeout(timer);
          resolveReady({ ...event.status.proxy, servers: event.status.servers });
        }
      });
      up.once('exit', (code) => reject(new Error(`mcpcp up exited ${code}: ${stderr}`)));
    },
  );
  return { up, ...ready };
}

async function stopUp(up: ChildProcess | undefined): Promise<void> {
  if (up === undefined || up.exitCode !== null) return;
  await new Promise<void>((done) => {
    up.once('exit', () => done());
    up.kill('SIGTERM');
    setTimeout(() => up.kill('SIGKILL'), 10_000).unref();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** The fleet config: bot-runner at `runnerUrl` and channels, both first-party children `mcpcp up` starts. */
function fleetYaml(
  dir: string,
  o: { runnerUrl: string; runnerArgs?: string[]; channelsArgs?: string[]; rule: string },
): string {
  const q = (value: string) => JSON.stringify(value);
  const main = (name: string) => join(resolve('.'), `servers/${name}/main.ts`);
  const child = (id: string, url: string, args: string[]) => `
  - id: ${id}
    transport: http
    url: ${url}
    firstParty: true
    restart: { maxRestarts: 0 }
    start:
      command: ${q(process.execPath)}
      args: [${[main(id), '--keys-dir', join(dir, 'keys'), '--issuer', issuer, ...args].map(q).join(', ')}]`;
  return `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  issuer: ${issuer}
  keysDir: ./keys
servers:${child('bot-runner', o.runnerUrl, o.runnerArgs ?? [])}${child('channels', 'http://127.0.0.1:0/mcp', [
    '--data-dir',
    join(dir, 'channels'),
    ...(o.channelsArgs ?? []),
  ])}
agents:
  alice: {}
policy:
  rules:
    - ${o.rule}
`;
}

/** alice, connected to the fleet's proxy with her own token; `call` runs a channels tool and returns its data. */
async function connectAlice(keysDir: string, fleet: { mcpUrl: string; resource: string }) {
  const token = await issueAgentToken(await loadSigner(keysDir), {
    issuer,
    audience: fleet.resource,
    agent: 'alice',
    ttlSeconds: 600,
  });
  const client = new Client({ name: 'alice', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(fleet.mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  const call = async <T>(name: string, args: Record<string, unknown>): Promise<T> => {
    const result = await client.callTool({ name: `channels_${name}`, arguments: args });
    if (result.isError === true) throw new Error(JSON.stringify(result.content));
    return result.structuredContent as T;
  };
  return { client, call };
}
