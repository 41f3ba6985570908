// proxy.limits.sessionIdleMs and agentIdleMs, set in the YAML, take effect in a real proxy: an idle 2025-era
// session is closed (its id then answers 404), and once its agent has gone the session the proxy held
// with an HTTP child on its behalf is ended too; a 2026-era agent whose connection vanished mid-listen has gone.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpChild, textOf, waitFor, type RunningChild } from '../proxy/harness.ts';
import { initializeBody, mcpHeaders, startHarness, type Harness } from './harness.ts';

let child: RunningChild;
let h: Harness;

beforeAll(async () => {
  child = await startHttpChild('kept');
  h = await startHarness(`
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  keysDir: ./keys
  limits: { sessionIdleMs: 400, agentIdleMs: 400 }
servers:
  - id: kept
    transport: http
    url: ${child.url}
agents:
  alice: {}
  bob: {}
policy:
  rules:
    - id: all
      subjects: [alice, bob]
      servers: [kept]
      allow: ['kept_*', 'test://**']
`);
});
afterAll(async () => {
  await h?.close();
  await child?.stop();
});

async function connect(agent: string, options: { era?: 'modern'; cut?: AbortSignal } = {}): Promise<Client> {
  const client = new Client(
    { name: agent, version: '1.0.0' },
    options.era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
  );
  const token = await h.token(agent);
  const cut = options.cut;
  await client.connect(
    new StreamableHTTPClientTransport(new URL(h.proxy.mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      // `cut` drops every connection of this client at once, as a vanished network would.
      ...(cut === undefined
        ? {}
        : {
            fetch: (url: string | URL, init?: RequestInit) =>
              fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, cut]) : cut }),
          }),
    }),
  );
  return client;
}

describe('idle limits from the config', () => {
  it('close an idle session, then end its agent’s session with the child', async () => {
    const token = await h.token('alice');
    const opened = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
      body: initializeBody,
    });
    const sid = opened.headers.get('mcp-session-id')!;
    await opened.body?.cancel();
    const alice = await connect('alice');
    await alice.callTool({ name: 'kept_echo', arguments: { message: 'hi' } });
    await alice.close();

    const bob = await connect('bob');
    const childSessions = async () => Number(textOf(await bob.callTool({ name: 'kept_sessions' })));
    expect(await childSessions()).toBe(3);
    // Nothing more from alice: her sessions go idle, then she does, and so does her child session.
    await waitFor(async () => (await childSessions()) === 2);
    const stale = await fetch(h.proxy.mcpUrl, {
      method: 'POST',
      headers: { ...mcpHeaders, authorization: `Bearer ${token}`, 'mcp-session-id': sid },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(stale.status).toBe(404);
    await bob.close();
  });

  it('let a 2026-era agent go whose client vanished with its listen stream open', async () => {
    const bob = await connect('bob');
    const childSessions = async () => Number(textOf(await bob.callTool({ name: 'kept_sessions' })));
    await waitFor(async () => (await childSessions()) === 2);
    const vanish = new AbortController();
    const alice = await connect('alice', { era: 'modern', cut: vanish.signal });
    await alice.listen({ resourceSubscriptions: ['test://counter'] });
    await waitFor(async () => (await childSessions()) === 3);
    // No unsubscribe, no goodbye: the connection is simply gone, and the proxy must notice.
    vanish.abort();
    await waitFor(async () => (await childSessions()) === 2);
    await bob.close();
  });
});
