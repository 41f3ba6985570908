// The Streamable HTTP client transport toward one child: the SDK's StreamableHTTPClientTransport, with a
// direct path for the answers nearly every call gets. A single JSON-RPC request is POSTed through
// node:http with plain headers; a 200 JSON answer is parsed once and handed to the SDK Client, and a 200
// SSE answer (what most 2025-era servers send) is read event by event (answer-stream.ts, with eventsource-parser)
// and handed on message by message, resuming through the SDK (Last-Event-ID) when the child closes it early
// as the SDK would. Any other answer (an error status, a redirect) is handed, already received, to the
// SDK's own send logic through a one-shot fetch, so auth and error mapping stay exactly the SDK's.
// Handshakes, notifications, responses to the child's requests, batches and resumptions go through the
// SDK unchanged. Measured cost of the SDK's generic path (Headers and Response objects, web streams,
// envelope re-validation): about a third of the proxy's upstream CPU per JSON call, and about half of
// the proxy's whole CPU per call for an SSE answer.
// It must not decide anything about calls; it only moves messages.
import {
  PROTOCOL_VERSION_META_KEY,
  SdkError,
  SdkErrorCode,
  StreamableHTTPClientTransport,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type JSONRPCResponse,
  type MessageExtraInfo,
  type StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/client';
import { readAnswerStream, readJsonAnswer } from './answer-stream.ts';
import { loopbackFetch, sendLoopback, toFetchResponse } from './loopback-fetch.ts';
import { tapSse } from './attribution.ts';
import { tolerateJsonLines } from './json-lines.ts';
import { noteLaneTaken } from '../../lib/lanes.ts';

type SendOptions = Parameters<StreamableHTTPClientTransport['send']>[1];
type RequestId = string | number;

/** A request whose response its sender takes itself (the direct lane): it never reaches the Client. */
interface Awaited {
  resolve: (response: JSONRPCResponse) => void;
  reject: (error: Error) => void;
}

/** The SDK transport's fields this path reads (private in its typings, stable in its send path). */
interface TransportInternals {
  _url: URL;
  _requestInit?: RequestInit;
  _authProvider?: { token(): Promise<string | undefined> };
  _sessionId?: string;
  _protocolVersion?: string;
  _abortController?: AbortController;
  _serverRetryMs?: number;
  _scheduleReconnection(
    options: {
      resumptionToken?: string | undefined;
      onresumptiontoken?: ((token: string) => void) | undefined;
      requestSignal?: AbortSignal | undefined;
      onRequestStreamEnd?: (() => void) | undefined;
    },
    attemptCount: number,
  ): void;
  _applyBodyDerivedHeaders(
    headers: { set(name: string, value: string): void },
    message: JSONRPCMessage,
  ): void;
}

export interface ChildHttpTransportOptions extends Omit<StreamableHTTPClientTransportOptions, 'fetch'> {
  /**
   * Asked in the sending caller's async context when an SSE answer arrives; what it returns hears every
   * message on that stream before the SDK handles it (attribution of a child's mid-call messages).
   */
  attribute?: () => ((message: unknown) => void) | undefined;
  /**
   * The direct POST path below, and node:http (loopback-fetch.ts) under the SDK's own path; default on.
   * Off (MCPCP_DIRECT_LANES=off): every message takes the SDK's send logic over the global fetch.
   */
  direct?: boolean;
}

/** A header value the SDK sends as it is (SEP-2243 encodes only empty, padded or non-ASCII values). */
const plainHeaderValue = /^[A-Za-z0-9_.-]+$/;

function isPlainRequest(message: JSONRPCMessage | JSONRPCMessage[]): message is JSONRPCMessage & {
  method: string;
  id: string | number;
} {
  return !Array.isArray(message) && 'method' in message && 'id' in message && message.method !== 'initialize';
}

/**
 * The headers a 2026-era request derives from its body (`Mcp-Protocol-Version`, `Mcp-Method`, `Mcp-Name`),
 * as the SDK's transport derives them; a plain tools/call name is set without the SDK's schema check of
 * the whole message. `headers` has lower-case names.
 */
export function deriveHeaders(
  transport: StreamableHTTPClientTransport,
  headers: Record<string, string>,
  message: JSONRPCMessage & { method: string },
): void {
  const params = (message as { params?: { name?: unknown; _meta?: Record<string, unknown> } }).params;
  const version = params?._meta?.[PROTOCOL_VERSION_META_KEY];
  if (typeof version !== 'string') return;
  const name = message.method === 'tools/call' ? params?.name : undefined;
  if (typeof name === 'string' && plainHeaderValue.test(name)) {
    headers['mcp-protocol-version'] = version;
    headers['mcp-method'] = message.method;
    headers['mcp-name'] = name;
    return;
  }
  (transport as unknown as TransportInternals)._applyBodyDerivedHeaders(
    { set: (header, value) => (headers[header.toLowerCase()] = value) },
    message,
  );
}

export class ChildHttpTransport extends StreamableHTTPClientTransport {
  /** Answers received by the direct path for the SDK's send logic, keyed by the request body sent. */
  private readonly received: Map<string, Response>;

  constructor(url: URL, options: ChildHttpTransportOptions = {}) {
    const received = new Map<string, Response>();
    const { attribute, direct = true, ...sdkOptions } = options;
    super(url, {
      ...sdkOptions,
      fetch: async (input, init) => {
        const body = typeof init?.body === 'string' ? init.body : undefined;
        const early = body === undefined ? undefined : received.get(body);
        if (early !== undefined) received.delete(body!);
        const response = await tolerateJsonLines(
          early ?? (await (direct ? loopbackFetch(input, init) : fetch(input, init))),
        );
        if (response.body === null) return response;
        if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) return response;
        const note = attribute?.();
        if (note === undefined) return response;
        return new Response(tapSse(response.body, note), {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      },
    });
    this.received = received;
    this.attribute = attribute;
    this.direct = direct;
    this.interceptResponses();
  }

  /**
   * Whatever handler is set as `onmessage` (the Client sets one when it connects, its version
   * negotiation swaps its own in and restores the earlier one) is reached through a wrapper that first
   * hands a response the direct lane awaits to it, on whichever stream it arrives (a call's answer, a
   * resumed stream). Reading `onmessage` gives the wrapper; setting a wrapper back sets what it wraps.
   */
  private interceptResponses(): void {
    type Handler = (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
    const unwrapped = new WeakMap<Handler, Handler>();
    let current: Handler | undefined;
    Object.defineProperty(this, 'onmessage', {
      configurable: true,
      enumerable: true,
      get: () => current,
      set: (handler: Handler | undefined) => {
        const inner = handler === undefined ? undefined : (unwrapped.get(handler) ?? handler);
        if (inner === undefined) {
          current = undefined;
          return;
        }
        current = (message, extra) => {
          if (this.awaited.size > 0 && !('method' in message) && 'id' in message) {
            const waiting = this.awaited.get(message.id as RequestId);
            if (waiting !== undefined) {
              this.awaited.delete(message.id as RequestId);
              waiting.resolve(message);
              return;
            }
          }
          inner(message, extra);
        };
        unwrapped.set(current, inner);
      },
    });
  }

  private readonly attribute: ChildHttpTransportOptions['attribute'];
  private readonly direct: boolean;
  private readonly awaited = new Map<RequestId, Awaited>();

  /** A connection closing fails the lane's requests as the Client fails its own. */
  override async close(): Promise<void> {
    const closed = new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed');
    for (const waiting of this.awaited.values()) waiting.reject(closed);
    this.awaited.clear();
    return super.close();
  }

  /** Whether `request` can take the direct lane: the plain POST path below will send it. */
  canRequest(): boolean {
    const inner = this as unknown as TransportInternals;
    return this.direct && inner._requestInit === undefined && inner._url.protocol === 'http:';
  }

  /**
   * Sends one request and resolves with its response, which the sender takes itself: it never reaches
   * the Client (proxy/upstreams/direct-request.ts). Rejects when the request cannot be sent or the
   * connection closes; `signal` aborts the request's POST.
   */
  request(message: JSONRPCRequest, signal: AbortSignal): Promise<JSONRPCResponse> {
    return new Promise<JSONRPCResponse>((resolve, reject) => {
      this.awaited.set(message.id, { resolve, reject });
      this.send(message, { requestSignal: signal }).catch((error: unknown) => {
        if (this.awaited.delete(message.id))
          reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  /** The sender no longer waits for `id`'s response (it cancelled or timed out). */
  forget(id: RequestId): void {
    this.awaited.delete(id);
  }

  override async send(message: JSONRPCMessage | JSONRPCMessage[], options?: SendOptions): Promise<void> {
    const inner = this as unknown as TransportInternals;
    if (
      !this.direct ||
      !isPlainRequest(message) ||
      options?.resumptionToken !== undefined ||
      options?.headers !== undefined ||
      inner._requestInit !== undefined ||
      inner._url.protocol !== 'http:'
    ) {
      return super.send(message, options);
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const token = await inner._authProvider?.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (inner._sessionId) headers['mcp-session-id'] = inner._sessionId;
    if (inner._protocolVersion) headers['mcp-protocol-version'] = inner._protocolVersion;
    // The SDK derives headers only from a request whose `_meta` claims a protocol version (2026-era);
    // asking it only then spares a schema check of every other request.
    deriveHeaders(this, headers, message);
    const body = JSON.stringify(message);
    const transportSignal = inner._abortController?.signal;
    const signal =
      options?.requestSignal !== undefined && transportSignal !== undefined
        ? [transportSignal, options.requestSignal]
        : (options?.requestSignal ?? transportSignal);

    noteLaneTaken('child-post');
    // Network failures and aborts reject here exactly as the SDK's fetch would.
    const answer = await sendLoopback(inner._url.href, { method: 'POST', headers, body, signal });
    const type = answer.res.headers['content-type'] ?? '';
    if (answer.res.statusCode === 200 && type.startsWith('application/json')) {
      // One document, or newline-delimited ones delivered as each arrives (json-lines.ts).
      readJsonAnswer(answer, message.id, {
        deliver: (m) => this.onmessage?.(m),
        note: this.attribute?.(),
        intentional: () =>
          inner._abortController?.signal.aborted === true || options?.requestSignal?.aborted === true,
      });
      return;
    }
    if (answer.res.statusCode === 200 && type.startsWith('text/event-stream')) {
      readAnswerStream(answer, message.id, {
        deliver: (m) => this.onmessage?.(m),
        error: (e) => this.onerror?.(e),
        note: this.attribute?.(),
        intentional: () =>
          inner._abortController?.signal.aborted === true || options?.requestSignal?.aborted === true,
        retryMs: (ms) => (inner._serverRetryMs = ms),
        resume: (lastEventId) => {
          if (inner._abortController === undefined) return false;
          inner._scheduleReconnection(
            {
              resumptionToken: lastEventId,
              onresumptiontoken: options?.onresumptiontoken,
              requestSignal: options?.requestSignal,
              onRequestStreamEnd: options?.onRequestStreamEnd,
            },
            0,
          );
          return true;
        },
        onresumptiontoken: options?.onresumptiontoken,
        onRequestStreamEnd: options?.onRequestStreamEnd,
      });
      return;
    }
    // Everything else: the SDK's own send logic, given the answer we already have.
    this.received.set(body, await toFetchResponse(answer, 'POST'));
    try {
      return await super.send(message, options);
    } finally {
      this.received.delete(body);
    }
  }
}
