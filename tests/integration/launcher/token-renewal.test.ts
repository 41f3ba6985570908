// A fleet whose internal tokens live 2 s (proxy.limits.internalTokenTtlSeconds) and whose channels server accepts
// them with no clock tolerance, pinged every 250 ms: left idle for several token lifetimes it restarts nothing, and a
// sync_messages long poll through the proxy that spans a token renewal gets its message instead of being cut.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { loadConfig } from '../../../config/load.ts';
import { startFleet, type Fleet, type FleetEvent } from '../../../launcher/fleet/fleet.ts';
import { createSilentLogger } from '../../../lib/log.ts';

const channelsMain = new URL('../../../servers/channels/main.ts', import.meta.url).pathname;
const issuer = 'http://mcpcp.renewal.test';
const ttlSeconds = 2;

describe('a fleet whose internal tokens live 2 s', () => {
  let dir: string;
  let fleet: Fleet;
  const events: FleetEvent[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpcp-renewal-'));
    await generateKeyPair(join(dir, 'keys'));
    const file = join(dir, 'mcpcp.yaml');
    const args = [channelsMain, '--keys-dir', join(dir, 'keys'), '--issuer', issuer];
    await writeFile(
      file,
      `proxy:
  listen: { host: 127.0.0.1, port: 0 }
  issuer: ${issuer}
  keysDir: ./keys
  limits: { internalTokenTtlSeconds: ${ttlSeconds} }
servers:
  - id: channels
    transport: http
    url: http://127.0.0.1:0/mcp
    firstParty: true
    protocol: 2025-11-25
    readyTimeoutMs: 20000
    restart: { backoffMs: 20 }
    start:
      command: ${JSON.stringify(process.execPath)}
      args: [${[...args, '--data-dir', join(dir, 'channels'), '--clock-tolerance', '0'].map((a) => JSON.stringify(a)).join(', ')}]
agents: { alice: {}, bob: {} }
policy:
  rules:
    - { id: players, subjects: [alice, bob], servers: [channels], allow: ['channels_*'] }
`,
    );
    fleet = await startFleet({
      config: await loadConfig(file),
      configFile: file,
      dataDir: join(dir, 'run'),
      logger: createSilentLogger(),
      ping: { intervalMs: 250, timeoutMs: 2_000 },
      onEvent: (event) => events.push(event),
    });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await fleet?.stop('test');
    await rm(dir, { recursive: true, force: true });
  });

  async function connect(agent: string) {
    const status = fleet.status();
    const token = await issueAgentToken(await loadSigner(join(dir, 'keys')), {
      issuer: status.proxy.issuer,
      audience: status.proxy.resource,
      agent,
      ttlSeconds: 600,
    });
    const client = new Client({ name: agent, version: '0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(status.proxy.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    clients.push(client);
    return async <T>(tool: string, args: Record<string, unknown>): Promise<T> => {
      const result = await client.callTool({ name: `channels_${tool}`, arguments: args });
      if (result.isError === true) throw new Error(`${tool}: ${JSON.stringify(result.content)}`);
      return result.structuredContent as T;
    };
  }

  const channelsRow = () => fleet.status().servers.find((row) => row.id === 'channels')!;

  it('restarts nothing while idle for several token lifetimes, and still answers calls after', async () => {
    const before = channelsRow();
    expect(before.state).toBe('ready');
    await sleep(3 * ttlSeconds * 1000);
    const after = channelsRow();
    expect(after.lastError).toBeUndefined();
    expect(after).toMatchObject({ state: 'ready', restarts: 0, pid: before.pid });
    expect(events.filter((e) => e.event === 'child-state' && e.state === 'down')).toEqual([]);
    const alice = await connect('alice');
    const listed = await alice<{ channels: unknown[] }>('list_channels', {});
    expect(listed.channels).toEqual([]);
  }, 30_000);

  it('answers a sync_messages long poll that spans a token renewal instead of cutting it', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const created = await alice<{ channel_id: string; invites: Array<{ code: string }> }>('create_channel', {
      name: 'renewal',
      slots: ['invite:alice', 'invite:bob'],
    });
    await alice('join_channel', { invite_code: created.invites[0]!.code });
    await bob('join_channel', { invite_code: created.invites[1]!.code });
    const start = await bob<{ cursor: number }>('sync_messages', { channel_id: created.channel_id });
    const waiting = bob<{ messages: Array<{ body: unknown }> }>('sync_messages', {
      channel_id: created.channel_id,
      cursor: start.cursor,
      wait_ms: 15_000,
    });
    // Longer than a token lives (plus a ping timeout), so the tokens renew while the poll waits.
    await sleep(2 * ttlSeconds * 1000 + 500);
    // alice's post goes with a token issued after the one bob's poll was sent with.
    await alice('post_message', { channel_id: created.channel_id, body: 'after renewal' });
    expect((await waiting).messages.map((m) => m.body)).toEqual(['after renewal']);
    expect(channelsRow()).toMatchObject({ state: 'ready', restarts: 0 });
  }, 30_000);
});
