// The upstream direct lane: a plain `tools/call` sent to an HTTP child past the SDK Client's generic
// request machinery. That machinery (schema guards on every inbound message, the era codec's wire parse
// of the result, a response-handler table, two timers and abort wiring per request) was, measured with
// bench/proxy.ts, about a quarter of the proxy's CPU per call. Here the request is built exactly as the
// Client builds it (its id counter, its era envelope), sent on the Client's own transport, and its
// response taken straight from that transport (proxy/upstreams/child-http-transport.ts). A plain text
// result is accepted as the era codec would return it; any other result goes through the codec, and an
// `input_required` result (a 2026-era child asking for input) is handed to the Client's own
// multi-round-trip engine, so elicitation, sampling and roots rounds stay the SDK's. Timeout and
// cancellation behave as the Client's: a 2026-era request is cancelled by aborting its POST, a 2025-era
// one by `notifications/cancelled` (and its POST is dropped). Requests the lane does not take (progress,
// mirrored headers, stdio, another transport) answer undefined and go through the Client.
// It must not decide anything about calls; it only moves one request.
import {
  ProtocolError,
  SdkError,
  SdkErrorCode,
  type Client,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type StandardSchemaV1,
} from '@modelcontextprotocol/client';
import { isPlainObject } from '../../lib/mcp-direct-post.ts';
import { isPlainTextResult } from '../../lib/mcp-plain-result.ts';
import { ChildHttpTransport } from './child-http-transport.ts';
import { readResponse } from './client.ts';
import { noteLaneTaken } from '../../lib/lanes.ts';

type Params = Record<string, unknown>;

type Decoded =
  | { kind: 'complete'; result: Params }
  | { kind: 'invalid'; error: Error }
  | { kind: 'input_required'; [key: string]: unknown };

interface Codec {
  era: string;
  decodeResult(method: string, raw: unknown): Decoded;
}

/** The Client's request funnel parts the lane shares (private in its typings, stable in its request path). */
interface ClientInternals {
  transport: unknown;
  _requestMessageId: number;
  _negotiatedProtocolVersion?: string;
  _resolveOutboundCodec(method: string): Codec;
  _assertOutboundRequestInEra(codec: Codec, method: string): void;
  _envelopeOutbound<T extends object>(message: T): T;
  _resolveNonCompleteResult(decoded: Decoded, flow: object): Promise<Params>;
  _requestWithSchemaViaCodec(
    codec: Codec,
    request: { method: string; params?: Params },
    schema: StandardSchemaV1<Params>,
    options: object,
  ): Promise<Params>;
}

const modernEra = '2026-07-28';

export interface DirectRequestOptions {
  signal: AbortSignal;
  timeoutMs: number;
  /** The schema the Client would check the result with; it must accept every value unchanged. */
  resultSchema: StandardSchemaV1<Params>;
  /** The options the Client would have been given (for `input_required` rounds, which it runs). */
  requestOptions: object;
}

/** A plain result as the era codec decodes it, or undefined when the codec must see it. */
function plainResult(raw: unknown, modern: boolean): Params | undefined {
  if (!isPlainObject(raw)) return undefined;
  if (!modern) return 'resultType' in raw ? undefined : raw;
  if (raw.resultType !== 'complete') return undefined;
  const { resultType: _complete, ...result } = raw;
  return isPlainTextResult(result) ? result : undefined;
}

/**
 * Sends `request` on `client`'s HTTP transport past the Client's request machinery and resolves with the
 * result the Client would have resolved with; undefined when the lane cannot take it.
 */
export function directRequest(
  client: Client,
  request: { method: 'tools/call'; params: Params },
  options: DirectRequestOptions,
): Promise<Params> | undefined {
  const inner = client as unknown as ClientInternals;
  const transport = inner.transport;
  if (
    !(transport instanceof ChildHttpTransport) ||
    !transport.canRequest() ||
    inner._negotiatedProtocolVersion === undefined ||
    options.signal.aborted
  ) {
    return undefined;
  }
  noteLaneTaken('upstream-request');
  const { method } = request;
  const codec = inner._resolveOutboundCodec(method);
  inner._assertOutboundRequestInEra(codec, method);
  const modern = codec.era === modernEra;
  const id = inner._requestMessageId++;
  const message = inner._envelopeOutbound<JSONRPCRequest>({ ...request, jsonrpc: '2.0', id });
  const flowStartedAt = Date.now();
  const { signal, timeoutMs } = options;

  return new Promise<Params>((resolve, reject) => {
    const post = new AbortController();
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    const cancel = (reason: unknown): void => {
      if (!finish()) return;
      transport.forget(id);
      if (!modern) {
        void client
          .notification({
            method: 'notifications/cancelled',
            params: { requestId: id, reason: String(reason) },
          })
          .catch(() => undefined);
      }
      post.abort(reason);
      reject(reason instanceof SdkError ? reason : new SdkError(SdkErrorCode.RequestTimeout, String(reason)));
    };
    const onAbort = (): void => cancel(signal.reason);
    const timer = setTimeout(
      () => cancel(new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout: timeoutMs })),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });

    const settle = (received: JSONRPCResponse): void => {
      const response = readResponse(client, received);
      if ('error' in response) {
        const { code, message: text, data } = response.error;
        return reject(ProtocolError.fromError(code, text, data));
      }
      const plain = plainResult(response.result, modern);
      if (plain !== undefined) return resolve(plain);
      let decoded: Decoded;
      try {
        decoded = codec.decodeResult(method, response.result);
      } catch (error) {
        return reject(error instanceof Error ? error : new Error(String(error)));
      }
      if (decoded.kind === 'invalid') return reject(decoded.error);
      if (decoded.kind === 'complete') return resolve(decoded.result);
      const { resultSchema, requestOptions } = options;
      // The caller answers the child's round itself, as the Client's manual mode hands it over.
      if ((requestOptions as { allowInputRequired?: unknown }).allowInputRequired === true) {
        const { kind: _kind, ...round } = decoded;
        return resolve({ resultType: 'input_required', ...round });
      }
      resolve(
        inner._resolveNonCompleteResult(decoded, {
          codec,
          request,
          resultSchema,
          options: requestOptions,
          flowStartedAt,
          retry: (params: Params | undefined, legOptions: object) =>
            inner._requestWithSchemaViaCodec(
              codec,
              params === undefined ? { method } : { method, params },
              resultSchema,
              legOptions,
            ),
        }),
      );
    };

    transport.request(message, post.signal).then(
      (response) => {
        // One microtask later, as the Client answers (proxy/upstreams/client.ts): a notification the
        // child wrote just before its response is dispatched first.
        if (finish()) queueMicrotask(() => settle(response));
      },
      (error: unknown) => {
        if (finish()) reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
