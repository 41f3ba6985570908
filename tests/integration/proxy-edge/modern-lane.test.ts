// The 2026-07-28 direct lane (proxy/gateway/modern-direct.ts, taken by proxy/edge/node-lane.ts) answers a
// plain sessionless tools/call exactly as the SDK's createMcpHandler answers it. Every case is sent twice:
// framed as the lane takes it (a declared length) and chunked (which the lane always leaves to the app).
// The lane takes only an envelope the SDK has accepted for the agent before, and leaves every irregular
// request to the SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counting, laneTakes } from '../../helpers/lanes.ts';
import { configYaml, mcpHeaders, startHarness, type Harness } from './harness.ts';

let h: Harness;
let alice: string;

beforeAll(async () => {
  h = await startHarness(configYaml({ allow: ['everything_echo', 'everything_get-sum'] }));
  alice = await h.token('alice');
});

afterAll(async () => {
  await h?.close();
});

const envelope = (client = 'lane') => ({
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: client, version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
});

const call = (id: number, name: string, args: unknown, meta: Record<string, unknown> = envelope()) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: args, _meta: meta },
  });

const headersFor = (name: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${alice}`,
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': 'tools/call',
  'mcp-name': name,
  ...extra,
});

async function post(body: string, headers: Record<string, string>, chunked: boolean) {
  const bytes = new TextEncoder().encode(body);
  const res = await fetch(h.proxy.mcpUrl, {
    method: 'POST',
    headers: { ...mcpHeaders, ...headers },
    ...(chunked
      ? {
          body: new ReadableStream({
            start(controller) {
              controller.enqueue(bytes);
              controller.close();
            },
          }),
          duplex: 'half',
        }
      : { body }),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** Sends one request in both framings: both answers, and whether the lane took the first (never the second). */
async function both(body: string, headers: Record<string, string>) {
  const { value: viaLane, taken } = await counting('modern-call', () => post(body, headers, false));
  const { value: viaApp, taken: byApp } = await counting('modern-call', () => post(body, headers, true));
  expect(byApp).toBe(0);
  return { viaLane, viaApp, taken };
}

describe('the 2026-07-28 direct lane', () => {
  beforeAll(async () => {
    // The agent's first call: its envelope is accepted on the SDK's path.
    const first = await post(
      call(1, 'everything_echo', { message: 'first' }),
      headersFor('everything_echo'),
      false,
    );
    expect(first.status).toBe(200);
  });

  it('takes a plain call with an accepted envelope and answers what the SDK answers', async () => {
    const { viaLane, viaApp, taken } = await both(
      call(2, 'everything_echo', { message: 'hi' }),
      headersFor('everything_echo'),
    );
    expect(taken).toBe(laneTakes(1));
    expect(viaLane).toEqual(viaApp);
    expect(viaLane).toMatchObject({ status: 200, type: 'application/json' });
    expect(JSON.parse(viaLane.body)).toEqual({
      result: {
        content: [{ type: 'text', text: 'Echo: hi' }],
        resultType: 'complete',
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'mcpcp', version: '0.1.0' } },
      },
      jsonrpc: '2.0',
      id: 2,
    });
  });

  it('answers hidden and badly called tools as the SDK does', async () => {
    for (const [id, name, args] of [
      [3, 'everything_get-env', {}],
      [4, 'everything_get-sum', { a: 'one', b: 2 }],
      [5, 'everything_get-sum', { a: 1, b: 2 }],
    ] as const) {
      const { viaLane, viaApp, taken } = await both(call(id, name, args), headersFor(name));
      expect(taken).toBe(laneTakes(1));
      expect(viaLane).toEqual(viaApp);
    }
  });

  it('leaves a new envelope to the SDK once, then takes it', async () => {
    const other = envelope('another-client');
    const first = await both(
      call(6, 'everything_echo', { message: 'x' }, other),
      headersFor('everything_echo'),
    );
    expect(first.taken).toBe(0);
    expect(first.viaLane).toEqual(first.viaApp);
    const again = await both(
      call(7, 'everything_echo', { message: 'x' }, other),
      headersFor('everything_echo'),
    );
    expect(again.taken).toBe(laneTakes(1));
    expect(again.viaLane).toEqual(again.viaApp);
  });

  it('leaves irregular requests to the SDK, which refuses them', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      // Mcp-Name disagreeing with the body.
      [call(8, 'everything_echo', { message: 'x' }), headersFor('everything_get-sum')],
      // A header naming another revision than the body.
      [
        call(9, 'everything_echo', { message: 'x' }),
        headersFor('everything_echo', { 'mcp-protocol-version': '2026-07-29' }),
      ],
      // An envelope the SDK refuses.
      [
        call(
          10,
          'everything_echo',
          { message: 'x' },
          { ...envelope(), 'io.modelcontextprotocol/clientCapabilities': 'none' },
        ),
        headersFor('everything_echo'),
      ],
      // A progress token (its notifications stream) and an unknown tool.
      [
        call(11, 'everything_echo', { message: 'x' }, { ...envelope(), progressToken: 't' }),
        headersFor('everything_echo'),
      ],
      [call(12, 'everything_nope', {}), headersFor('everything_nope')],
    ];
    for (const [body, headers] of cases) {
      const { viaLane, viaApp, taken } = await both(body, headers);
      expect(taken).toBe(0);
      expect(viaLane).toEqual(viaApp);
    }
    const refused = await post(cases[0]![0], cases[0]![1], false);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ id: 8, error: { code: -32020 } });
  });
});
