// Two proxy replicas (one config with `replicas: 2`, one key folder) share no memory: a 2025-era session opened on
// one is served by the other, rebuilt from its sealed id; the id is worth nothing with another agent's token, altered,
// or after the client ended the session with DELETE on that replica. Each replica enforces half the rate limit.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { startHttpChild, type RunningChild } from '../proxy/harness.ts';
import { initializeBody, mcpHeaders, startHarness, type Harness } from './harness.ts';

let child: RunningChild;
let h: Harness;
let second: RunningProxy;

const yaml = (url: string) => `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  publicUrl: http://edge.test
  keysDir: ./keys
  replicas: 2
servers:
  - id: kept
    transport: http
    url: ${url}
agents:
  alice: {}
  bob: {}
  carol: {}
policy:
  rules:
    - { id: players, subjects: [alice, bob], servers: [kept], allow: ['kept_*'] }
    - { id: limited, subjects: [carol], servers: [kept], allow: ['kept_*'], rateLimit: { requestsPerMinute: 60, burst: 8 } }
`;

beforeAll(async () => {
  child = await startHttpChild('kept');
  h = await startHarness(yaml(child.url));
  const file = join(h.dir, 'second.yaml');
  second = await startProxy({ config: parseConfig(yaml(child.url), file), logger: createSilentLogger() });
});
afterAll(async () => {
  await second?.close();
  await h?.close();
  await child?.stop();
});

async function post(url: string, token: string, body: unknown, sid?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      ...mcpHeaders,
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': '2025-06-18',
      ...(sid === undefined ? {} : { 'mcp-session-id': sid }),
    },
    body: JSON.stringify(body),
  });
}

async function open(url: string, token: string): Promise<string> {
  const opened = await fetch(url, {
    method: 'POST',
    headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
    body: initializeBody,
  });
  expect(opened.status).toBe(200);
  await opened.body?.cancel();
  const sid = opened.headers.get('mcp-session-id')!;
  const ack = await post(url, token, { jsonrpc: '2.0', method: 'notifications/initialized' }, sid);
  expect(ack.status).toBe(202);
  return sid;
}

const echo = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'kept_echo', arguments: { message: `m${id}` } },
});

describe('proxy replicas without sticky sessions', () => {
  it('serves a 2025-era session opened on one replica from the other, under the same id', async () => {
    const alice = await h.token('alice');
    const sid = await open(h.proxy.mcpUrl, alice);
    expect(sid).toMatch(/^mcs1\./);
    for (const [i, url] of [second.mcpUrl, h.proxy.mcpUrl, second.mcpUrl].entries()) {
      const answer = await post(url, alice, echo(i + 10), sid);
      expect(answer.status).toBe(200);
      expect(JSON.stringify(await answer.json())).toContain(`m${i + 10}`);
    }
  });

  it('answers the id with another agent’s token, altered, or after DELETE exactly like an unknown session', async () => {
    const alice = await h.token('alice');
    const bob = await h.token('bob');
    const sid = await open(h.proxy.mcpUrl, alice);
    expect((await post(second.mcpUrl, bob, echo(1), sid)).status).toBe(404);
    const altered = sid.slice(0, 40) + (sid[40] === 'x' ? 'y' : 'x') + sid.slice(41);
    expect((await post(second.mcpUrl, alice, echo(2), altered)).status).toBe(404);
    expect((await post(second.mcpUrl, alice, echo(3), 'not-a-sealed-id')).status).toBe(404);
    const ended = await fetch(second.mcpUrl, {
      method: 'DELETE',
      headers: {
        authorization: `Bearer ${alice}`,
        'mcp-session-id': sid,
        'mcp-protocol-version': '2025-06-18',
      },
    });
    expect(ended.status).toBe(200);
    expect((await post(second.mcpUrl, alice, echo(4), sid)).status).toBe(404);
  });

  it('lets each replica allow half the burst, so both together allow the burst once', async () => {
    const carol = await h.token('carol');
    const statuses: number[] = [];
    for (const url of [h.proxy.mcpUrl, second.mcpUrl]) {
      for (let i = 0; i < 6; i += 1) {
        const answer = await post(url, carol, { jsonrpc: '2.0', id: i, method: 'ping' }, undefined);
        statuses.push(answer.status);
        await answer.body?.cancel();
      }
    }
    // burst 8 over 2 replicas: 4 each, then 429.
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
  });
});
