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

/**
 * How deeply one message may nest objects and arrays (the message itself is level 1, its params 2, a
 * tool's arguments 3). Deeper input is refused here, at the edge, with a clear error, before anything
 * that walks it recursively (schema validation, copying) can run out of stack.
 */
export const maxJsonDepth = 128;

/**
 * Walks a parsed body without recursion: deletes every own `__proto__` key (JSON.parse makes it an
 * ordinary property, but copying such an object with assignment would change its prototype; a server
 * reading the message with a schema ignores it anyway), and answers whether anything nests deeper than
 * `max`.
 */
export function sanitizeJson(value: unknown, max: number = maxJsonDepth): { tooDeep: boolean } {
  const stack: Array<{ node: object; depth: number }> = [];
  if (value !== null && typeof value === 'object') stack.push({ node: value, depth: 1 });
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (depth > max) return { tooDeep: true };
    if (Array.isArray(node)) {
      for (const child of node as unknown[])
        if (child !== null && typeof child === 'object') stack.push({ node: child, depth: depth + 1 });
      continue;
    }
    if (Object.hasOwn(node, '__proto__')) delete (node as Record<string, unknown>)['__proto__'];
    for (const key in node) {
      const child = (node as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') stack.push({ node: child, depth: depth + 1 });
    }
  }
  return { tooDeep: false };
}

const batchMessage =
  'Invalid Request: JSON-RPC batches are not supported (removed in MCP 2025-06-18); send one message per request';

/**
 * Checks the shape of one parsed body against JSON-RPC 2.0 as MCP uses it (objects as params, no batches),
 * within the edge's one depth limit; own `__proto__` keys are dropped from it (sanitizeJson).
 */
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
  if (sanitizeJson(body).tooDeep)
    return invalid(`the message nests objects or arrays deeper than ${maxJsonDepth} levels`);
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
