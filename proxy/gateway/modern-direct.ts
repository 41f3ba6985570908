// The direct lane for a plain 2026-07-28 `tools/call`, the call nearly all modern traffic is. The SDK's
// createMcpHandler classifies each request twice, builds a front Server and a per-request transport and
// dispatches through its generic funnel. Here a plain call whose `_meta` envelope the SDK has already
// accepted for this agent goes to the tools/call handler of a per-agent modern front Server, as the SDK
// registered it (request validation, the input_required seam, result validation); its result is encoded
// with the era codec and framed as PerRequestHTTPServerTransport frames it: one JSON answer, or an SSE
// stream when a notification comes first. Anything unusual answers undefined and takes the SDK's path.
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  ProtocolErrorCode,
  type Server,
} from '@modelcontextprotocol/server';
import { errorResponseFor } from './direct-call.ts';
import { isPlainObject, plainRequest, type HeaderSource, type RequestId } from '../../lib/mcp-direct-post.ts';

type Params = Record<string, unknown>;

export const modernRevision = '2026-07-28';
const envelopeKeys = new Set([
  PROTOCOL_VERSION_META_KEY,
  CLIENT_INFO_META_KEY,
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
]);
const callKeys = new Set(['name', 'arguments', '_meta']);
/** SSE keep-alive comment interval of the SDK's per-request transport. */
const keepAliveMs = 15_000;

/** Where a lane call's answer goes (the node:http lane writes it to the socket). */
export interface ModernAnswer {
  /** Aborted when the client goes away: the call is cancelled and nothing is written. */
  signal: AbortSignal;
  json(status: number, body: string): void;
  /** Opens a 200 text/event-stream answer. */
  sse(): { write(frame: string): void; end(): void };
}

export interface PlainModernCall {
  id: RequestId;
  name: string;
  /** The params the handler sees: the envelope lifted out of `_meta`, as the SDK lifts it. */
  params: Params;
  envelope: Params;
}

/** A `tools/call` the lane can take as it is (headers agreeing with the body exactly), or undefined. */
export function plainModernCall(message: unknown, req: HeaderSource): PlainModernCall | undefined {
  const request = plainRequest(message);
  if (request?.method !== 'tools/call' || request.params === undefined) return undefined;
  const { name, arguments: args, _meta: meta } = request.params;
  if (typeof name !== 'string' || (args !== undefined && !isPlainObject(args))) return undefined;
  for (const key in request.params) if (!callKeys.has(key)) return undefined;
  if (!isPlainObject(meta) || meta[PROTOCOL_VERSION_META_KEY] !== modernRevision) return undefined;
  for (const key in meta) if (!envelopeKeys.has(key)) return undefined;
  const h = req.headers;
  if (h.get('mcp-protocol-version') !== modernRevision || h.get('mcp-method') !== 'tools/call')
    return undefined;
  if (h.get('mcp-name') !== name || name.startsWith('=?')) return undefined;
  return {
    id: request.id,
    name,
    params: args === undefined ? { name } : { name, arguments: args },
    envelope: meta,
  };
}

/** The Server's fields this lane shares with the SDK's dispatch (private in its typings). */
interface ServerInternals {
  _negotiatedProtocolVersion: string | undefined;
  _requestHandlers: Map<string, (request: unknown, ctx: unknown) => Promise<Params>>;
  _outboundServerInfo(): unknown;
  _negotiatedWireCodec(): {
    encodeResult(method: string, result: Params, serverInfo: unknown): Params;
    encodeErrorCode(code: number): number;
    hasNotificationMethod(method: string): boolean;
  };
}

/** Marks a front Server as serving 2026-07-28, as createMcpHandler marks its per-request instances. */
export function serveModern(server: Server): void {
  (server as unknown as ServerInternals)._negotiatedProtocolVersion = modernRevision;
}

const internalError = (id: RequestId): Params => ({
  jsonrpc: '2.0',
  id,
  error: { code: ProtocolErrorCode.InternalError, message: 'Internal error' },
});

/**
 * Runs `call` on `server` (marked by serveModern) and writes its answer. It never rejects and always
 * answers (a request the lane took is never left open): whatever fails after it took the call becomes
 * an internal error answer.
 */
export async function runModernCall(
  server: Server,
  call: PlainModernCall,
  answer: ModernAnswer,
): Promise<void> {
  const inner = server as unknown as ServerInternals;
  const codec = inner._negotiatedWireCodec();
  const handler =
    inner._requestHandlers.get('tools/call') ??
    (() => Promise.reject(new Error('modern lane: the front Server has no tools/call handler')));
  const { id } = call;
  let stream: ReturnType<ModernAnswer['sse']> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const write = (message: unknown): void => {
    if (stream === undefined) {
      stream = answer.sse();
      timer = setInterval(() => stream?.write(': keepalive\n\n'), keepAliveMs);
      timer.unref();
    }
    stream.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  };
  const notify = (n: { method: string; params?: Params }): Promise<void> => {
    if (!codec.hasNotificationMethod(n.method))
      return Promise.reject(
        new Error(`Notification '${n.method}' is not supported by the negotiated protocol version`),
      );
    if (!done && !answer.signal.aborted) write({ jsonrpc: '2.0', ...n });
    return Promise.resolve();
  };
  const ctx = {
    sessionId: undefined,
    mcpReq: {
      id,
      method: 'tools/call',
      _meta: undefined,
      envelope: call.envelope,
      requestState: () => undefined,
      signal: answer.signal,
      notify,
      send: () =>
        Promise.reject(new Error('modern lane: server-to-client requests are input_required rounds')),
    },
    http: undefined,
  };
  let message: Params;
  try {
    const result = await handler({ jsonrpc: '2.0', id, method: 'tools/call', params: call.params }, ctx);
    if (answer.signal.aborted) return;
    try {
      message = {
        result: codec.encodeResult('tools/call', result, inner._outboundServerInfo()),
        jsonrpc: '2.0',
        id,
      };
    } catch {
      message = internalError(id);
    }
  } catch (error) {
    if (answer.signal.aborted) return;
    message = errorResponseFor((code) => codec.encodeErrorCode(code), id, error);
  } finally {
    done = true;
    clearInterval(timer);
  }
  let text: string;
  try {
    text = JSON.stringify(message);
  } catch {
    message = internalError(id);
    text = JSON.stringify(message);
  }
  if (stream !== undefined) {
    stream.write(`event: message\ndata: ${text}\n\n`);
    stream.end();
    return;
  }
  // The SDK's one in-band error answered with an HTTP error status: a missing client capability.
  const missing =
    (message.error as { code?: unknown } | undefined)?.code ===
    ProtocolErrorCode.MissingRequiredClientCapability;
  answer.json(missing ? 400 : 200, text);
}
