// JSON-RPC framing checks at the HTTP edge: what one POST body to /mcp may look like before the gateway
// sees it, and how a refusal is written. Pure functions of the parsed body; no MCP semantics here.
import { rpcCodes } from '../errors-to-wire.ts';

export type JsonRpcId = string | number | null;

export type MessageCheck =
  | {
      ok: true;
      kind: 'request';
      id: string | number;
      method: string;
      params: Record<string, unknown> | undefined;
    }
  | { ok: true; kind: 'notification'; method: string }
  | { ok: true; kind: 'response' }
  | { ok: false; code: number; message: string; id: JsonRpcId };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string | number {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

const batchMessage =
  'Invalid Request: JSON-RPC batches are not supported (removed in MCP 2025-06-18); send one message per request';

/** Checks the shape of one parsed body against JSON-RPC 2.0 as MCP uses it (objects as params, no batches). */
export function checkJsonRpcMessage(body: unknown): MessageCheck {
  if (Array.isArray(body))
    return { ok: false, code: rpcCodes.invalidRequest, message: batchMessage, id: null };
  if (!isRecord(body)) {
    return {
      ok: false,
      code: rpcCodes.invalidRequest,
      message: 'Invalid Request: expected a JSON object',
      id: null,
    };
  }
  const id: JsonRpcId = isId(body.id) ? body.id : null;
  const invalid = (message: string): MessageCheck => ({
    ok: false,
    code: rpcCodes.invalidRequest,
    message: `Invalid Request: ${message}`,
    id,
  });
  if (body.jsonrpc !== '2.0') return invalid('"jsonrpc" must be "2.0"');
  if ('id' in body && body.id !== null && !isId(body.id)) return invalid('"id" must be a string or a number');
  if ('method' in body) {
    if (typeof body.method !== 'string' || body.method === '')
      return invalid('"method" must be a non-empty string');
    if ('params' in body && body.params !== undefined && !isRecord(body.params)) {
      return invalid('"params" must be an object');
    }
    if ('result' in body || 'error' in body) return invalid('a request carries no "result" or "error"');
    const params = isRecord(body.params) ? body.params : undefined;
    if (!('id' in body)) return { ok: true, kind: 'notification', method: body.method };
    if (!isId(body.id)) return invalid('a request "id" must be a string or a number');
    return { ok: true, kind: 'request', id: body.id, method: body.method, params };
  }
  const hasResult = 'result' in body;
  const hasError = 'error' in body;
  if (hasResult === hasError) return invalid('expected "method", or exactly one of "result" and "error"');
  if (!('id' in body)) return invalid('a response needs an "id"');
  if (hasError) {
    const error = body.error;
    if (!isRecord(error) || typeof error.code !== 'number' || typeof error.message !== 'string') {
      return invalid('"error" needs a numeric "code" and a string "message"');
    }
  }
  return { ok: true, kind: 'response' };
}

export function jsonRpcErrorBody(id: JsonRpcId, code: number, message: string, data?: unknown): string {
  const error = data === undefined ? { code, message } : { code, message, data };
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}

/** A JSON-RPC error answered with an HTTP status (the request never reached an MCP session). */
export function jsonRpcErrorResponse(
  status: number,
  code: number,
  message: string,
  options: { id?: JsonRpcId; headers?: Record<string, string>; data?: unknown } = {},
): Response {
  return new Response(jsonRpcErrorBody(options.id ?? null, code, message, options.data), {
    status,
    headers: { 'content-type': 'application/json', ...options.headers },
  });
}
