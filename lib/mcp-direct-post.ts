// One plain JSON-RPC request POSTed on a live 2025-era session, past the SDK transport's generic POST
// handling. That handling re-parses the message with the message schema, runs `isInitializeRequest` twice
// and the type guards twice more; measured with bench/proxy.ts it was a large share of a server's CPU per
// call. Here: the same header checks and the same per-POST stream record as the SDK's JSON answer mode, then
// the caller's `dispatch` instead of `onmessage`. Anything that is not the plain case answers undefined and
// the caller hands the POST to `handleRequest`, so every refusal and every error stays the SDK's.
// Used by the proxy's front sessions and by the first-party servers' sessions (servers/_kit/http.ts).
import type { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';

export type RequestId = string | number;

export interface PlainRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

/**
 * Where a direct POST's answer goes. `json` is the SDK's own record field (it resolves it with a Response
 * when it answers, and on close); `text`, when set, takes the usual answer as a serialised JSON-RPC
 * message instead, so a caller that writes to node:http itself builds no Response.
 */
export interface DirectSink {
  json: (response: Response) => void;
  text?: ((message: string) => void) | undefined;
}

/** The per-POST record, as the SDK's JSON answer mode keeps it, plus the optional text sink. */
export interface DirectStream {
  resolveJson?: (response: Response) => void;
  resolveText?: ((message: string) => void) | undefined;
  cleanup: () => void;
}

/** What a direct POST reads of its request: its headers (a Request, or node:http's headers behind `get`). */
export interface HeaderSource {
  headers: { get(name: string): string | null };
}

/** The SDK transport's per-POST record and checks (private in its typings, stable in its JSON path). */
interface TransportInternals {
  _closed: boolean;
  _enableJsonResponse: boolean;
  _scopeChallengeResolver?: unknown;
  _streamMapping: Map<string, DirectStream>;
  _requestToStreamMapping: Map<RequestId, string>;
  validateSession(req: HeaderSource): Response | undefined;
  validateProtocolVersion(req: HeaderSource): Response | undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A single request in the shape the SDK's request schema accepts (not initialize, which opens sessions;
 * not a batch, a notification or a response), or undefined.
 */
export function plainRequest(message: unknown): PlainRequest | undefined {
  if (!isPlainObject(message) || message.jsonrpc !== '2.0') return undefined;
  const { id, method, params } = message;
  if (typeof id !== 'string' && !(typeof id === 'number' && Number.isSafeInteger(id))) return undefined;
  if (typeof method !== 'string' || method === 'initialize' || 'result' in message || 'error' in message)
    return undefined;
  if (params !== undefined && !isPlainObject(params)) return undefined;
  if (params?._meta !== undefined && !isPlainObject(params._meta)) return undefined;
  return message as unknown as PlainRequest;
}

let streams = 0;

/**
 * Registers `id`'s POST as the SDK would in JSON answer mode, with `sink` as its answer, and calls
 * `dispatch`. False: not the plain case (nothing was registered or dispatched).
 */
export function directPostTo(
  transport: WebStandardStreamableHTTPServerTransport,
  req: HeaderSource,
  id: RequestId,
  dispatch: () => void,
  sink: DirectSink,
): boolean {
  const inner = transport as unknown as TransportInternals;
  const accept = req.headers.get('accept');
  if (
    inner._closed ||
    !inner._enableJsonResponse ||
    inner._scopeChallengeResolver !== undefined ||
    accept === null ||
    !accept.includes('application/json') ||
    !accept.includes('text/event-stream') ||
    inner._requestToStreamMapping.has(id) ||
    inner.validateSession(req) !== undefined ||
    inner.validateProtocolVersion(req) !== undefined
  ) {
    return false;
  }
  // Only the transport reads the id; a counter is cheaper than a UUID and cannot meet the SDK's.
  const streamId = `direct-${(streams += 1)}`;
  inner._streamMapping.set(streamId, {
    resolveJson: sink.json,
    resolveText: sink.text,
    cleanup: () => inner._streamMapping.delete(streamId),
  });
  inner._requestToStreamMapping.set(id, streamId);
  dispatch();
  return true;
}

/**
 * Registers `id`'s POST as the SDK would in JSON answer mode and calls `dispatch`; the answer is the
 * Response the transport resolves when the request's response is sent. Undefined: not the plain case.
 */
export function directPost(
  transport: WebStandardStreamableHTTPServerTransport,
  req: HeaderSource,
  id: RequestId,
  dispatch: () => void,
): Promise<Response> | undefined {
  let resolve!: (response: Response) => void;
  const answer = new Promise<Response>((r) => (resolve = r));
  return directPostTo(transport, req, id, dispatch, { json: (response) => resolve(response) })
    ? answer
    : undefined;
}
