// The 2026-07-28 direct lane (proxy/gateway/modern-direct.ts) against the SDK's own createMcpHandler, on the
// same real SDK Server: a call whose handler notifies first is upgraded to SSE, a client that goes away
// gets nothing written and cancels the handler, a result that cannot be encoded becomes an internal
// error (the request is still answered), and -32021 is answered with HTTP 400 — each as the SDK answers it.
import { createMcpHandler, ProtocolError, Server, type ServerContext } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import {
  plainModernCall,
  runModernCall,
  serveModern,
  type ModernAnswer,
} from '../../../proxy/gateway/modern-direct.ts';

type Handler = (params: { name: string }, ctx: ServerContext) => Promise<Record<string, unknown>>;

function serverWith(handler: Handler): Server {
  const server = new Server({ name: 'lane', version: '1' }, { capabilities: { tools: {}, logging: {} } });
  server.setRequestHandler('tools/call', (req, ctx) => handler(req.params, ctx) as never);
  return server;
}

const envelope = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const body = (name: string) => ({
  jsonrpc: '2.0',
  id: 5,
  method: 'tools/call',
  params: { name, arguments: {}, _meta: envelope },
});
const headers = (name: string) =>
  new Headers({
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': name,
  });

interface Answered {
  status: number;
  type: string;
  body: string;
}

/** What the lane writes, as a recording of its answer sink. */
async function viaLane(
  handler: Handler,
  name: string,
  abort?: AbortController,
): Promise<Answered | undefined> {
  const server = serverWith(handler);
  serveModern(server);
  const call = plainModernCall(body(name), { headers: headers(name) })!;
  let answered: Answered | undefined;
  let sse = '';
  const answer: ModernAnswer = {
    signal: (abort ?? new AbortController()).signal,
    json: (status, text) => void (answered = { status, type: 'application/json', body: text }),
    sse: () => ({
      write: (frame) => void (sse += frame),
      end: () => void (answered = { status: 200, type: 'text/event-stream', body: sse }),
    }),
  };
  await runModernCall(server, call, answer);
  return answered;
}

/** What the SDK's own handler answers for the same request on the same kind of Server. */
async function viaSdk(handler: Handler, name: string): Promise<Answered> {
  const mcp = createMcpHandler(() => serverWith(handler), { legacy: 'reject' });
  const response = await mcp.fetch(
    new Request('http://127.0.0.1/mcp', {
      method: 'POST',
      headers: headers(name),
      body: JSON.stringify(body(name)),
    }),
  );
  const answered = {
    status: response.status,
    type: (response.headers.get('content-type') ?? '').split(';')[0]!,
    body: await response.text(),
  };
  await mcp.close();
  return answered;
}

/** SSE bodies compared by their messages (the SDK may add ids or keep-alives the lane does not). */
function messages(answer: Answered | undefined): unknown[] {
  if (answer === undefined) return [];
  if (answer.type !== 'text/event-stream') return [JSON.parse(answer.body)];
  return answer.body
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as unknown);
}

describe('the modern direct lane, compared with the SDK', () => {
  it('upgrades to SSE when a notification comes before the result', async () => {
    const handler: Handler = async (_params, ctx) => {
      await ctx.mcpReq.notify({ method: 'notifications/message', params: { level: 'info', data: 'first' } });
      return { content: [{ type: 'text', text: 'done' }] };
    };
    const lane = await viaLane(handler, 'talk');
    const sdk = await viaSdk(handler, 'talk');
    expect(lane?.type).toBe('text/event-stream');
    expect(sdk.type).toBe('text/event-stream');
    expect(messages(lane)).toEqual(messages(sdk));
    expect(messages(lane)).toHaveLength(2);
  });

  it('writes nothing for a client that went away, and cancels the call', async () => {
    const abort = new AbortController();
    let cancelled = false;
    const handler: Handler = (_params, ctx) =>
      new Promise((resolve) => {
        ctx.mcpReq.signal.addEventListener('abort', () => {
          cancelled = true;
          resolve({ content: [] });
        });
        setTimeout(() => abort.abort(new Error('gone')), 20);
      });
    expect(await viaLane(handler, 'slow', abort)).toBeUndefined();
    expect(cancelled).toBe(true);
  });

  it('still answers, with an internal error, a result that cannot be encoded', async () => {
    // A BigInt cannot be written as JSON. (The SDK's own path never answers this request at all: the lane
    // must never leave a request it took open, so it answers it.)
    const handler: Handler = () => Promise.resolve({ content: [], big: 10n });
    const lane = await viaLane(handler, 'odd');
    expect(lane?.status).toBe(200);
    expect(messages(lane)).toEqual([
      { jsonrpc: '2.0', id: 5, error: { code: -32603, message: 'Internal error' } },
    ]);
  });

  it('answers -32021 (a missing client capability) with HTTP 400, as the SDK does', async () => {
    const handler: Handler = () =>
      Promise.reject(
        new ProtocolError(-32021, 'Missing required client capability', {
          requiredCapabilities: { sampling: {} },
        }),
      );
    const lane = await viaLane(handler, 'needs');
    const sdk = await viaSdk(handler, 'needs');
    expect(lane?.status).toBe(400);
    expect(sdk.status).toBe(400);
    expect(messages(lane)).toEqual(messages(sdk));
  });
});
