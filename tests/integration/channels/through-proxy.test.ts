// The whole path: two agents with their own agent tokens reach the channels server through the real proxy (which
// sends the internal child JWT), play a GuessBot round to the end, and both verify the transcript with `mcpcp verify`
// against the proxy.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { parseConfig } from '../../../config/load.ts';
import { addCommands, runCli } from '../../../launcher/cli.ts';
import { registerVerify } from '../../../launcher/commands/verify.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { startKitServer, type RunningKitServer } from '../../../servers/_kit/main.ts';
import { channelsServerSpec } from '../../../servers/channels/server.ts';

addCommands(registerVerify);

const issuer = 'http://mcpcp.test';

interface Reply {
  kind: string;
  body: Record<string, unknown>;
}

describe('channels through the proxy', () => {
  let dir: string;
  let channels: RunningKitServer;
  let proxy: RunningProxy;
  const tokens = new Map<string, string>();
  const clients: Client[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpcp-channels-proxy-'));
    const keysDir = join(dir, 'keys');
    await generateKeyPair(keysDir);
    channels = await startKitServer(channelsServerSpec, {
      dataDir: join(dir, 'data'),
      keysDir,
      issuer,
      port: 0,
      logger: createSilentLogger(),
    });
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
agents:
  alice: {}
  bob: {}
groups:
  players: [alice, bob]
policy:
  rules:
    - id: players-channels
      subjects: ['group:players']
      servers: [channels]
      allow: ['channels_*']
`;
    const configFile = join(dir, 'mcpcp.yaml');
    await writeFile(configFile, yaml);
    proxy = await startProxy({ config: parseConfig(yaml, configFile), logger: createSilentLogger() });
    const signer = await loadSigner(keysDir);
    for (const agent of ['alice', 'bob']) {
      tokens.set(
        agent,
        await issueAgentToken(signer, {
          issuer: proxy.urls.issuer,
          audience: proxy.urls.resource,
          agent,
          ttlSeconds: 600,
        }),
      );
    }
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await proxy?.close();
    await channels?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function connect(agent: string) {
    const client = new Client({ name: agent, version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(proxy.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${tokens.get(agent)!}` } },
      }),
    );
    clients.push(client);
    return async <T>(name: string, args: Record<string, unknown>): Promise<T> => {
      const result = await client.callTool({ name: `channels_${name}`, arguments: args });
      if (result.isError === true) throw new Error(JSON.stringify(result.content));
      return result.structuredContent as T;
    };
  }

  it('two agents play GuessBot through the proxy and both verify the transcript', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const created = await alice<{ channel_id: string; invites: Array<{ code: string }> }>('create_channel', {
      name: 'proxied',
      slots: ['bot:ref', 'invite:alice', 'invite:bob'],
      bot_preset: 'GuessBot',
    });
    await alice('join_channel', { invite_code: created.invites[0]!.code, seed: 'a1' });
    const joined = await bob<{ view: { you: { agent: string } } }>('join_channel', {
      invite_code: created.invites[1]!.code,
      seed: 'b2',
    });
    expect(joined.view.you.agent).toBe('bob'); // identity comes from the proxy's child token, not from the client
    let low = 1;
    let high = 100;
    let over = false;
    for (let turn = 0; turn < 10 && !over; turn += 1) {
      const guess = Math.floor((low + high) / 2);
      const posted = await (turn % 2 ? bob : alice)<{ replies: Reply[] }>('post_message', {
        channel_id: created.channel_id,
        body: `guess ${guess}`,
      });
      const hint = posted.replies.find((r) => r.kind === 'game:hint')!;
      if (hint.body.hint === 'higher') low = guess + 1;
      if (hint.body.hint === 'lower') high = guess - 1;
      over = posted.replies.some((r) => r.kind === 'game:over');
    }
    expect(over).toBe(true);
    for (const agent of ['alice', 'bob']) {
      const lines: string[] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
      try {
        const code = await runCli([
          'verify',
          '--url',
          proxy.mcpUrl,
          '--token',
          tokens.get(agent)!,
          '--channel',
          created.channel_id,
          // bob takes the keys from the proxy's /.well-known/jwks.json (the default), alice from the file.
          ...(agent === 'alice' ? ['--jwks', join(dir, 'keys', 'jwks.json')] : []),
          '--json',
        ]);
        expect(JSON.parse(lines.join('\n'))).toMatchObject({ ok: true });
        expect(code).toBe(0);
      } finally {
        spy.mockRestore();
        process.exitCode = undefined;
      }
    }
  });

  it('keeps a long poll through the proxy open past the proxy health-check interval', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const created = await alice<{ channel_id: string; invites: Array<{ code: string }> }>('create_channel', {
      name: 'long-poll',
      slots: ['invite:alice', 'invite:bob'],
    });
    await alice('join_channel', { invite_code: created.invites[0]!.code });
    await bob('join_channel', { invite_code: created.invites[1]!.code });
    const start = await bob<{ cursor: number }>('sync_messages', { channel_id: created.channel_id });
    const waiting = bob<{ messages: Array<{ body: unknown }> }>('sync_messages', {
      channel_id: created.channel_id,
      cursor: start.cursor,
      wait_ms: 20_000,
    });
    await new Promise((r) => setTimeout(r, 7_000));
    await alice('post_message', { channel_id: created.channel_id, body: 'late news' });
    expect((await waiting).messages.map((m) => m.body)).toEqual(['late news']);
  }, 30_000);
});
