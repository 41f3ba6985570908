// The node:http lane (proxy/edge/node-lane.ts) takes a plain tools/call on an agent's own 2025-era session
// past the Web layer. Whatever it takes or hands on must be answered exactly as the Hono app answers the
// same request: every case is sent twice, once framed as the lane takes it (a declared length) and once
// chunked (which the lane always leaves to the app), and the two answers compared. Irregular requests
// (bad tokens, bad bodies, foreign or unknown sessions, a bad Host, a browser Origin) are the app's, a
// rate-limit token is taken once per request however it travels, and an answer upgraded to SSE mid-call
// streams through the lane.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { counting, laneTakes } from '../../helpers/lanes.ts';
import { configYaml, mcpHeaders, startHarness, type Harness } from './harness.ts';

let h: Harness;
let alice: string;
/** How often the lane asked the gateway to take a call (the lane counter in lib/lanes.ts counts takes). */
const lane = { asked: 0 };

beforeAll(async () => {
  h = await startHarness(
    configYaml({
      allow: ['everything_echo', 'everything_get-sum', 'everything_trigger-long-running-operation'],
    }),
  );
  alice = await h.token('alice');
  const gateway = h.proxy.gateway;
  const directCall = gateway.directCall.bind(gateway);
  gateway.directCall = (...args) => {
    lane.asked += 1;
    return directCall(...args);
  };
});

afterAll(async () => {
  await h?.close();
});

interface Answer {
  status: number;
  type: string | null;
  session: string | null;
  body: string;
}

type Framing = 'lane' | 'chunked';

async function post(
  body: string,
  headers: Record<string, string>,
  framing: Framing = 'lane',
): Promise<Answer> {
  const bytes = new TextEncoder().encode(body);
  const res = await fetch(h.proxy.mcpUrl, {
    method: 'POST',
    headers: { ...mcpHeaders, ...headers },
    ...(framing === 'lane'
      ? { body }
      : {
          body: new ReadableStream({
            start(controller) {
              controller.enqueue(bytes);
              controller.close();
            },
          }),
          duplex: 'half',
        }),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    session: res.headers.get('mcp-session-id'),
    body: await res.text(),
  };
}

async function openSession(token: string): Promise<string> {
  const auth = { authorization: `Bearer ${token}`, 'mcp-protocol-version': '2025-06-18' };
  const init = await fetch(h.proxy.mcpUrl, {
    method: 'POST',
    headers: { ...mcpHeaders, ...auth },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'lane', version: '1' } },
    }),
  });
  const sid = init.headers.get('mcp-session-id')!;
  await init.text();
  await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), {
    ...auth,
    'mcp-session-id': sid,
  });
  return sid;
}

const call = (id: number, name: string, args: unknown) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** Sends one request in both framings; returns both answers and whether the lane took the first. */
async function both(body: string, headers: Record<string, string>) {
  const before = { ...lane };
  const { value: viaLane, taken } = await counting('edge-node', () => post(body, headers, 'lane'));
  const asked = lane.asked - before.asked;
  const { value: viaApp, taken: byApp } = await counting('edge-node', () => post(body, headers, 'chunked'));
  expect(lane.asked - before.asked).toBe(asked);
  expect(byApp).toBe(0);
  return { viaLane, viaApp, taken, asked };
}

describe('the node:http lane', () => {
  let sid: string;
  let headers: Record<string, string>;
  beforeAll(async () => {
    sid = await openSession(alice);
    headers = {
      authorization: `Bearer ${alice}`,
      'mcp-session-id': sid,
      'mcp-protocol-version': '2025-06-18',
    };
  });

  it('takes a plain call and answers exactly what the app answers', async () => {
    const { viaLane, viaApp, taken } = await both(call(7, 'everything_echo', { message: 'hi' }), headers);
    expect(taken).toBe(laneTakes(1));
    expect(viaLane).toEqual(viaApp);
    expect(viaLane).toMatchObject({ status: 200, type: 'application/json', session: sid });
    expect(JSON.parse(viaLane.body)).toMatchObject({ id: 7, result: { content: [{ text: 'Echo: hi' }] } });
  });

  it('answers unknown, hidden and badly called tools as the app does', async () => {
    for (const body of [
      call(8, 'everything_nope', {}),
      call(9, 'everything_get-env', {}),
      call(10, 'everything_get-sum', { a: 'one', b: 2 }),
    ]) {
      const { viaLane, viaApp, taken } = await both(body, headers);
      expect(taken).toBe(laneTakes(1));
      expect(viaLane).toEqual(viaApp);
      expect(JSON.parse(viaLane.body)).toHaveProperty('id');
    }
  });

  it('leaves every irregular request to the app, which answers it', async () => {
    const other = await generateKeyPair(`${h.dir}/forged-keys`).then(() =>
      loadSigner(`${h.dir}/forged-keys`),
    );
    const forged = await issueAgentToken(other, {
      issuer: h.proxy.urls.issuer,
      audience: h.proxy.urls.resource,
      agent: 'alice',
      ttlSeconds: 300,
    });
    const expired = await h.token('alice', { now: new Date(Date.now() - 3_600_000), ttlSeconds: 60 });
    const bob = await h.token('bob');
    const ok = call(11, 'everything_echo', { message: 'x' });
    const cases: [string, Record<string, string>, number][] = [
      [ok, { ...headers, authorization: `Bearer ${forged}` }, 401],
      [ok, { ...headers, authorization: `Bearer ${expired}` }, 401],
      [ok, { ...headers, authorization: 'Bearer not-a-jwt' }, 401],
      [ok, { ...headers, authorization: `Bearer ${bob}` }, 404],
      [ok, { ...headers, 'mcp-session-id': 'no-such-session' }, 404],
      [ok, { ...headers, 'mcp-protocol-version': '1999-01-01' }, 400],
      ['{"jsonrpc": "2.0", "id": 1, "method": ', headers, 400],
      [`[${ok}]`, headers, 400],
      ['{"jsonrpc":"2.0","id":1}', headers, 400],
      [JSON.stringify({ jsonrpc: '2.0', id: 12, method: 'tools/list' }), headers, 200],
      [ok, { ...headers, origin: 'https://evil.example' }, 403],
      [ok, { ...headers, origin: 'https://claude.ai' }, 200],
    ];
    for (const [body, sent, status] of cases) {
      const { viaLane, viaApp, taken } = await both(body, sent);
      expect(taken, `${status} ${body}`).toBe(0);
      expect(viaLane.status, body).toBe(status);
      expect(viaLane).toEqual(viaApp);
    }
  });

  it('leaves a request with a Host the app refuses to the app', async () => {
    const body = call(13, 'everything_echo', { message: 'x' });
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        h.proxy.mcpUrl,
        {
          method: 'POST',
          headers: {
            ...mcpHeaders,
            ...headers,
            host: 'evil.example',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.once('error', reject);
      req.end(body);
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('Invalid Host');
  });

  it('streams an answer that turns into SSE mid-call', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 14,
      method: 'tools/call',
      params: {
        name: 'everything_trigger-long-running-operation',
        arguments: { duration: 1, steps: 3 },
        _meta: { progressToken: 'p1' },
      },
    });
    const { value: answer, taken } = await counting('edge-node', () => post(body, headers));
    expect(taken).toBe(laneTakes(1));
    expect(answer).toMatchObject({ status: 200, type: 'text/event-stream', session: sid });
    const events = answer.body
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { method?: string; id?: number });
    expect(events.filter((e) => e.method === 'notifications/progress')).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ id: 14, result: {} });
  });
});

describe('the node:http lane and the rate limit', () => {
  // A harness of its own: the tests above spend bob's tokens.
  let shared: Harness;
  beforeAll(async () => {
    shared = h;
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
    h = shared;
  });

  it('takes one token per request, also for a request it hands to the app', async () => {
    // bob: burst 5. One for initialize, one each for two calls on an unknown session (the lane charges
    // them, then hands them to the app), two good calls, and the next one is refused.
    const bob = await h.token('bob');
    const sid = await openSession(bob);
    const auth = { authorization: `Bearer ${bob}`, 'mcp-protocol-version': '2025-06-18' };
    const echo = (id: number) => call(id, 'everything_echo', { message: 'b' });
    for (const id of [1, 2])
      expect((await post(echo(id), { ...auth, 'mcp-session-id': 'unknown' })).status).toBe(404);
    for (const id of [3, 4])
      expect((await post(echo(id), { ...auth, 'mcp-session-id': sid })).status).toBe(200);
    const refused = await post(echo(5), { ...auth, 'mcp-session-id': sid });
    expect(refused.status).toBe(429);
  });
});
