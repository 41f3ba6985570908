// The scale-out proof: 2 proxy processes (`mcpcp up`, sharing one config and the fleet keys) and 2 channels processes
// on one PostgreSQL, the channels behind a round-robin TCP balancer (a fake standing in for a Kubernetes Service).
// Two agents, one per protocol era, send every request to the next proxy in turn. They play a full BlackjackBot hand;
// mid-hand one proxy and one channels server are killed with SIGKILL. The hand finishes, nothing is lost, duplicated
// or reordered, the chain and every bot message verify for both players, and the 2025-era session carries on with
// the same session id on the surviving proxy.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { collectTranscript, toolCallerFor } from '../../../client/verify/fetch.ts';
import { verifyTranscript } from '../../../client/verify/verify.ts';
import { checkChain, sha256Hex } from '../../../servers/channels/transcript.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { serviceAvailable } from '../../support/services.ts';
import { startTcpBalancer, type TcpBalancer } from '../../support/tcp-balancer.ts';
import { deal, handProblems, playMove, playToEnd } from '../channels/blackjack-player.ts';
import {
  createHarness,
  issuer,
  startChildProcess,
  type ChildServer,
  type Harness,
} from '../channels/harness.ts';
import type { ProxyAgent } from '../channels/proxy-agents.ts';

const audience = `${issuer}/mcp`;

interface Proxy {
  process: ChildProcess;
  url: string;
}

async function startProxy(h: Harness, configFile: string, name: string): Promise<Proxy> {
  const child = spawn(
    process.execPath,
    ['launcher/bin/mcpcp.ts', 'up', '--config', configFile, '--data-dir', join(h.dir, name), '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy not ready: ${stderr}`)), 40_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; status?: { proxy: { mcpUrl: string } } };
      if (event.event === 'fleet-ready' && event.status) {
        clearTimeout(timer);
        resolve(event.status.proxy.mcpUrl);
      }
    });
    child.once('exit', (code) => reject(new Error(`mcpcp up exited ${code}: ${stderr}`)));
  });
  return { process: child, url };
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

/**
 * An agent whose every HTTP request goes to the next proxy in turn (a dead one is skipped, as a balancer would), and
 * whose posts carry a client_msg_id so a call cut off by a dying replica is retried without being stored twice.
 */
async function roundRobinAgent(
  agent: string,
  token: string,
  proxies: readonly Proxy[],
  modern: boolean,
): Promise<ProxyAgent & { client: Client; sessionId(): string | undefined; hits: number[] }> {
  let next = 0;
  const hits = proxies.map(() => 0);
  const fetchNext = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let lastError: unknown;
    for (let tries = 0; tries < proxies.length; tries += 1) {
      const index = next++ % proxies.length;
      const target = new URL(proxies[index]!.url);
      const url = new URL(input instanceof Request ? input.url : input);
      url.host = target.host;
      try {
        const response = await fetch(url, init);
        hits[index]! += 1;
        return response;
      } catch (error) {
        lastError = error; // connection refused: that proxy is gone, try the next
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  };
  const client = new Client(
    { name: agent, version: '1.0.0' },
    modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  const transport = new StreamableHTTPClientTransport(new URL(proxies[0]!.url), {
    fetch: fetchNext,
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return {
    agent,
    token,
    client,
    hits,
    sessionId: () => transport.sessionId,
    async call<T>(name: string, args: Record<string, unknown>): Promise<T> {
      const sent =
        name === 'post_message' && args.client_msg_id === undefined
          ? { ...args, client_msg_id: randomUUID() }
          : args;
      let lastError: unknown;
      for (let attempt = 0; attempt < 6; attempt += 1) {
        try {
          const result = await client.callTool({ name: `channels_${name}`, arguments: sent });
          const error = (
            result.structuredContent as { error?: { code?: string; message?: string } } | undefined
          )?.error;
          if (result.isError !== true) return result.structuredContent as T;
          // A replica that died under the call: the same call again lands on a live one.
          if (!String(error?.code).startsWith('ERR_UPSTREAM') && !String(error?.code).startsWith('ERR_STORE'))
            throw new Error(
              `${error?.code ?? 'ERR_TOOL'}: ${error?.message ?? JSON.stringify(result.content)}`,
            );
          lastError = new Error(String(error?.code));
        } catch (error) {
          if (error instanceof Error && /^ERR_(?!UPSTREAM|STORE)/.test(error.message)) throw error;
          lastError = error;
        }
        await new Promise((resolve) => setTimeout(resolve, 250 * (attempt + 1)));
      }
      throw lastError instanceof Error ? lastError : new Error(String(lastError));
    },
    tools: async () => (await client.listTools(undefined, { cacheMode: 'bypass' })).tools.map((t) => t.name),
    close: () => client.close(),
  };
}

describe.runIf(serviceAvailable('postgres'))('2 proxies + 2 channels servers on one PostgreSQL', () => {
  let h: Harness;
  let db: TestDatabase;
  let channels: ChildServer[] = [];
  let balancer: TcpBalancer;
  let proxies: Proxy[] = [];
  const alive = new Set<number>();

  beforeAll(async () => {
    h = await createHarness();
    db = await createTestDatabase();
    channels = await Promise.all(
      [0, 1].map((i) => startChildProcess(h, ['--store', db.url, '--data-dir', join(h.dir, `channels${i}`)])),
    );
    channels.forEach((_, i) => alive.add(i));
    balancer = await startTcpBalancer(() => channels.map((c) => Number(new URL(c.url).port)));
    const configFile = join(h.dir, 'mcpcp.yaml');
    await writeFile(
      configFile,
      `proxy:
  listen: { host: 127.0.0.1, port: 0 }
  publicUrl: ${issuer}
  issuer: ${issuer}
  keysDir: ${JSON.stringify(h.keysDir)}
  replicas: 2
servers:
  - id: channels
    transport: http
    url: http://${balancer.address}/mcp
    firstParty: true
    protocol: auto
agents:
  alice: {}
  bob: {}
policy:
  rules:
    - { id: players, subjects: [alice, bob], servers: [channels], allow: ['channels_*'], rateLimit: { requestsPerMinute: 6000 } }
`,
    );
    proxies = await Promise.all(['proxy0', 'proxy1'].map((name) => startProxy(h, configFile, name)));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(proxies.map((p) => stop(p.process)));
    await balancer?.close();
    await Promise.all(channels.map((c) => c.stop()));
    await db?.drop();
    await h?.cleanup();
  });

  it('plays a BlackjackBot hand across replicas, survives a proxy and a channels server killed mid-hand, and both players verify it', async () => {
    const token = (agent: string) =>
      import('../../../auth/keys.ts').then(async ({ loadSigner }) =>
        issueAgentToken(await loadSigner(h.keysDir), { issuer, audience, agent, ttlSeconds: 900 }),
      );
    const alice = await roundRobinAgent('alice', await token('alice'), proxies, false);
    const bob = await roundRobinAgent('bob', await token('bob'), proxies, true);
    try {
      const session = alice.sessionId();
      expect(session).toMatch(/^mcs1\./);
      expect(bob.sessionId()).toBeUndefined();
      const created = await alice.call<{
        channel_id: string;
        invites: Array<{ slot: string; code: string }>;
      }>('create_channel', {
        name: 'scale-out',
        slots: ['bot:dealer', 'invite:alice', 'invite:bob'],
        bot_preset: 'BlackjackBot',
      });
      const id = created.channel_id;
      await alice.call('join_channel', { invite_code: created.invites[0]!.code, seed: sha256Hex('alice') });
      await bob.call('join_channel', { invite_code: created.invites[1]!.code, seed: sha256Hex('bob') });
      const seats = new Map<string, ProxyAgent>([
        [created.invites[0]!.slot, alice],
        [created.invites[1]!.slot, bob],
      ]);
      const hand = await deal(alice, id);
      if (hand.over === undefined) await playMove(seats, id, hand);
      // Mid-hand: one proxy and one channels server die at once, without a chance to clean up.
      proxies[0]!.process.kill('SIGKILL');
      channels[0]!.process.kill('SIGKILL');
      if (hand.over === undefined) await playToEnd(seats, id, hand);
      expect(hand.over).toBeDefined();
      // Every request went to the next proxy: both served each agent before the kill.
      expect(alice.hits.every((n) => n > 0)).toBe(true);
      expect(bob.hits.every((n) => n > 0)).toBe(true);
      // The 2025-era session carried on under the same id on the surviving proxy.
      expect(alice.sessionId()).toBe(session);

      const jwks = JSON.parse(await readFile(join(h.keysDir, 'jwks.json'), 'utf8')) as JSONWebKeySet;
      for (const player of [alice, bob]) {
        const transcript = await collectTranscript(toolCallerFor(player.client, 'channels_'), id);
        expect(checkChain(id, transcript.messages)).toBeUndefined();
        const report = await verifyTranscript(transcript, { jwks });
        expect(report.problems).toEqual([]);
        expect(report.ok).toBe(true);
        expect(handProblems(transcript.messages, hand.dealSeq)).toEqual([]);
        // Nothing lost, duplicated or reordered: the agent messages are exactly the deal and the moves, in order.
        const moves = transcript.messages.filter((m) => m.from.type === 'agent');
        expect(moves.map((m) => m.seq)).toEqual([hand.dealSeq, ...hand.moves.map((m) => m.seq)]);
        expect(moves.map((m) => m.body)).toEqual(['deal', ...hand.moves.map((m) => m.command)]);
      }
    } finally {
      await Promise.allSettled([alice.close(), bob.close()]);
    }
  });
});
