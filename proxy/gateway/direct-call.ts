// The direct lane for `tools/call` on a live 2025-era session, the call nearly all traffic is. The SDK's
// generic path re-parses and classifies each message with schema checks (the message schema, twice
// `isInitializeRequest`, three type guards, the request schema twice) that the edge has already done in
// substance: measured with bench/proxy.ts, that was a fifth of the proxy's CPU per call. Here a plain
// `tools/call` goes straight to the front Server's own call path; its result is validated once against
// the era's schema, exactly as the SDK's Server does, and errors are framed as the SDK frames them.
// Anything unusual (a parameter the lane does not know, wire-only `_meta` keys, a client preferring SSE,
// an initialize, a batch) answers undefined and takes the SDK's path, so every error stays the SDK's.
// Cancellation and session close abort the call through the Server's own table of running requests.
import { ProtocolError, ProtocolErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { noteLaneTaken } from '../../lib/lanes.ts';
import { isPlainObject, plainRequest, type RequestId } from '../../lib/mcp-direct-post.ts';
import { isPlainTextResult } from '../../lib/mcp-plain-result.ts';
import type { FrontServer } from './front-server.ts';
import type { JsonFirstSessionTransport } from './session-transport.ts';

type Params = Record<string, unknown>;

type Validation = { ok: true; value: Params } | { ok: false; reason: string; message?: string };

/** The Server's fields this lane shares with the SDK's dispatch (private in its typings). */
interface ServerInternals {
  _requestHandlerAbortControllers: Map<RequestId, AbortController>;
  _wireCodec(): {
    validateResult(method: string, raw: unknown): Validation;
    encodeErrorCode(code: number): number;
  };
}

const laneParams = new Set(['name', 'arguments', '_meta']);
/** Keys the SDK lifts out of `_meta` (the 2026-07-28 envelope): such a request takes its path. */
const wireMetaPrefix = 'io.modelcontextprotocol/';
/** Result keys that make a result another family's (tasks, input_required): never normalised here. */
const foreignResultKeys = ['task', 'inputRequests', 'requestState'];

/** The params of a `tools/call` the lane can take as it is, or undefined. */
function plainCallParams(message: unknown): Params | undefined {
  const request = plainRequest(message);
  if (request?.method !== 'tools/call') return undefined;
  const params = request.params;
  if (params === undefined || typeof params.name !== 'string') return undefined;
  for (const key in params) if (!laneParams.has(key)) return undefined;
  if (params.arguments !== undefined && !isPlainObject(params.arguments)) return undefined;
  const meta = params._meta as Params | undefined;
  if (meta !== undefined) {
    for (const key in meta) if (key.startsWith(wireMetaPrefix)) return undefined;
    const token = meta.progressToken;
    if (token !== undefined && typeof token !== 'string' && !Number.isSafeInteger(token)) return undefined;
  }
  return params;
}

/** The SDK Server's treatment of a contentless tool result: `content: []` unless it is another family's. */
function normalised(result: Params): Params {
  if (result.content !== undefined || foreignResultKeys.some((key) => key in result)) return result;
  return { ...result, content: [] };
}

/** An error thrown by a handler, framed as the SDK's dispatch frames it (both eras). */
export function errorResponseFor(
  encodeErrorCode: (code: number) => number,
  id: RequestId,
  error: unknown,
): JSONRPCMessage & { id: RequestId } {
  const e = error as { code?: unknown; message?: unknown; data?: unknown };
  const code = Number.isSafeInteger(e.code) ? (e.code as number) : ProtocolErrorCode.InternalError;
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: encodeErrorCode(code),
      message: (e.message as string | undefined) ?? 'Internal error',
      ...(e.data === undefined ? {} : { data: e.data }),
    },
  };
}

/**
 * Takes a plain `tools/call` POSTed on `front`'s session: `post` registers the POST with the transport
 * and dispatches the call (its answer is `post`'s business); undefined when the SDK's path must take it.
 * `message` has passed the edge's JSON-RPC checks.
 */
export function directToolsCall<T>(
  front: FrontServer,
  transport: JsonFirstSessionTransport,
  message: unknown,
  post: (id: RequestId, dispatch: () => void) => T | undefined,
): T | undefined {
  const params = plainCallParams(message);
  if (params === undefined) return undefined;
  const id = (message as { id: RequestId }).id;
  const server = front.server as unknown as ServerInternals;

  const run = async (): Promise<void> => {
    const abort = new AbortController();
    server._requestHandlerAbortControllers.set(id, abort);
    let response: JSONRPCMessage & { id: RequestId };
    try {
      const result = normalised(await front.callTool(id, params, abort.signal));
      const checked: Validation = isPlainTextResult(result)
        ? { ok: true, value: result }
        : server._wireCodec().validateResult('tools/call', result);
      if (!checked.ok) {
        throw new ProtocolError(
          checked.reason === 'not-in-era' ? ProtocolErrorCode.InternalError : ProtocolErrorCode.InvalidParams,
          checked.reason === 'not-in-era'
            ? 'No wire schema for tools/call in the resolved era'
            : `Invalid tools/call result: ${checked.message}`,
        );
      }
      response = { jsonrpc: '2.0', id, result: checked.value };
    } catch (error) {
      response = errorResponseFor((code) => server._wireCodec().encodeErrorCode(code), id, error);
    } finally {
      if (server._requestHandlerAbortControllers.get(id) === abort)
        server._requestHandlerAbortControllers.delete(id);
    }
    // A cancelled request gets no response, as in the SDK's dispatch.
    if (abort.signal.aborted) return;
    await transport.answer(response);
  };

  return post(id, () => {
    noteLaneTaken('legacy-call');
    run().catch((error: unknown) => {
      transport.onerror?.(error instanceof Error ? error : new Error(String(error)));
      // A request the lane took is always answered: whatever failed, the caller hears an internal error.
      transport
        .answer({
          jsonrpc: '2.0',
          id,
          error: { code: ProtocolErrorCode.InternalError, message: 'Internal error' },
        })
        .catch(() => undefined);
    });
  });
}
