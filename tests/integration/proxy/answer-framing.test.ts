// How 2025-era session answers are framed: plain JSON when a call sends nothing before its result,
// SSE from the first mid-call message on, and SSE from the start for a client that asks for it first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAllPolicy, childServer, startHarness, type Harness } from './harness.ts';

const yaml = `
servers:
${childServer('alpha')}
${allowAllPolicy('alice')}`;

let h: Harness;
let session: string;
const base = { 'content-type': 'application/json', 'x-test-agent': 'alice' };

async function post(body: unknown, accept = 'application/json, text/event-stream'): Promise<Response> {
  return fetch(h.url, {
    method: 'POST',
    headers: {
      ...base,
      accept,
      'mcp-protocol-version': '2025-11-25',
      ...(session === undefined ? {} : { 'mcp-session-id': session }),
    },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  h = await startHarness(yaml);
  const init = await post({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
  session = init.headers.get('mcp-session-id')!;
  await init.text();
  const ack = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  await ack.text();
});
afterAll(async () => {
  await h?.close();
});

describe('2025-era answer framing', () => {
  it('answers a call that sends nothing mid-call with one JSON body', async () => {
    const res = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'alpha_echo', arguments: { message: 'hi' } },
    });
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('mcp-session-id')).toBe(session);
    const body = (await res.json()) as { id: number; result: { content: { text: string }[] } };
    expect(body.id).toBe(1);
    expect(body.result.content[0]!.text).toBe('alpha: hi');
  });

  it('switches to an SSE stream when the call sends progress before its result, in order', async () => {
    const res = await post({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'alpha_slow', arguments: { steps: 2, delayMs: 20 }, _meta: { progressToken: 'p' } },
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const messages = (await res.text())
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { method?: string; id?: number });
    expect(messages.map((m) => m.method ?? `result ${m.id}`)).toEqual([
      'notifications/progress',
      'notifications/progress',
      'result 2',
    ]);
  });

  it('answers with SSE from the start when the client lists text/event-stream first', async () => {
    const res = await post(
      { jsonrpc: '2.0', id: 3, method: 'tools/list' },
      'text/event-stream, application/json',
    );
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(await res.text()).toContain('"id":3');
  });
});
