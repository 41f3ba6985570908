// The direct lane for a plain 2025-era tools/call (proxy/gateway/direct-call.ts) answers exactly what the
// SDK's dispatch answers: the same results and errors (compared with the same request sent down the SDK's
// path), the same result validation and normalisation, the SDK's header errors, and no hang when the
// session closes mid-call.
import { ProtocolError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counting, laneTakes } from '../../helpers/lanes.ts';
import { allowAllPolicy, childServer, node, startHarness, type Harness } from './harness.ts';

const stdioChild = new URL('../../fixtures/children/stdio-child.ts', import.meta.url).pathname;
const yaml = `
servers:
${childServer('alpha')}
  - id: odd
    transport: stdio
    command: ${JSON.stringify(node)}
    args: [${JSON.stringify(stdioChild)}, "--tools", "echo,invalid-result,contentless"]
${allowAllPolicy('alice')}`;

const json = 'application/json, text/event-stream';
/** Listing text/event-stream first sends the POST down the SDK's own path (an SSE answer). */
const sseFirst = 'text/event-stream, application/json';

let h: Harness;

interface Session {
  id: string;
  post(body: unknown, headers?: Record<string, string>): Promise<Response>;
}

async function openSession(): Promise<Session> {
  const state: { id?: string } = {};
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(h.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: json,
        'x-test-agent': 'alice',
        'mcp-protocol-version': '2025-11-25',
        ...(state.id === undefined ? {} : { 'mcp-session-id': state.id }),
        ...headers,
      },
      body: JSON.stringify(body),
    });
  const init = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
  const id = init.headers.get('mcp-session-id')!;
  state.id = id;
  await init.text();
  await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).text();
  return { id, post };
}

/** The JSON-RPC message a POST answered, whether as a JSON body or as the last event of an SSE stream. */
async function answerOf(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream'))
    return JSON.parse(text) as Record<string, unknown>;
  const data = text.split('\n').filter((line) => line.startsWith('data: '));
  return JSON.parse(data.at(-1)!.slice(6)) as Record<string, unknown>;
}

const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

beforeAll(async () => {
  h = await startHarness(yaml);
});
afterAll(async () => {
  await h?.close();
});

describe('the direct tools/call lane', () => {
  it('answers what the SDK path answers, for a result and for an unknown tool', async () => {
    const s = await openSession();
    for (const [name, args] of [
      ['alpha_echo', { message: 'same' }],
      ['alpha_fail', {}],
      ['nope_nothing', {}],
      ['odd_invalid-result', {}],
    ] as const) {
      const { value: lane, taken } = await counting('legacy-call', () => s.post(call(1, name, args)));
      expect(taken).toBe(laneTakes(1));
      expect(lane.headers.get('content-type')).toContain('application/json');
      const { value: sdk, taken: bySdk } = await counting('legacy-call', () =>
        s.post(call(1, name, args), { accept: sseFirst }),
      );
      expect(bySdk).toBe(0);
      expect(sdk.headers.get('content-type')).toContain('text/event-stream');
      expect(await answerOf(lane)).toEqual(await answerOf(sdk));
    }
  });

  for (const era of ['legacy', 'modern'] as const) {
    it(`refuses a child result that breaks the schema and normalises a contentless one (${era} era)`, async () => {
      const client = await h.connect('alice', { era });
      const refused = await client
        .callTool({ name: 'odd_invalid-result', arguments: {} })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ProtocolError);
      expect((refused as ProtocolError).code).toBe(-32602);
      expect((refused as ProtocolError).message).toContain('Invalid tools/call result');
      const contentless = await client.callTool({ name: 'odd_contentless', arguments: {} });
      expect(contentless.content).toEqual([]);
      expect(contentless.structuredContent).toEqual({ n: 1 });
    });
  }

  it('leaves a call with parameters it does not know to the SDK path, which still answers it', async () => {
    const s = await openSession();
    const res = await s.post({
      ...call(7, 'alpha_echo', { message: 'x' }),
      params: { name: 'alpha_echo', arguments: { message: 'x' }, extra: 1 },
    });
    const answer = await answerOf(res);
    expect(answer.id).toBe(7);
    expect((answer.result as { content: { text: string }[] }).content[0]!.text).toBe('alpha: x');
  });

  it('refuses what the SDK refuses: an unsupported protocol version header, an Accept without SSE', async () => {
    const s = await openSession();
    const version = await s.post(call(2, 'alpha_echo', { message: 'x' }), {
      'mcp-protocol-version': '1999-01-01',
    });
    expect(version.status).toBe(400);
    expect(((await version.json()) as { error: { message: string } }).error.message).toContain(
      'Unsupported protocol version',
    );
    const accept = await s.post(call(3, 'alpha_echo', { message: 'x' }), { accept: 'application/json' });
    expect(accept.status).toBe(406);
  });

  it('ends a call in flight when its session is deleted, instead of hanging', async () => {
    const s = await openSession();
    const pending = s.post(call(4, 'alpha_hang'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const deleted = await fetch(h.url, {
      method: 'DELETE',
      headers: { 'x-test-agent': 'alice', 'mcp-session-id': s.id, 'mcp-protocol-version': '2025-11-25' },
    });
    expect(deleted.status).toBe(200);
    const res = await Promise.race([
      pending,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 3000)),
    ]);
    expect(res).not.toBe('hung');
    expect((res as Response).status).toBe(200);
    expect(await (res as Response).text()).toBe('');
  });
});
