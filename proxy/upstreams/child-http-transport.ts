// The Streamable HTTP client transport toward one child: the SDK's StreamableHTTPClientTransport, with a
// direct path for the answers nearly every call gets. A single JSON-RPC request is POSTed through
// node:http with plain headers; a 200 JSON answer is parsed once and handed to the SDK Client, and a 200
// SSE answer (what most 2025-era servers send) is read event by event with the SDK's own SSE parser and
// handed on message by message, resuming through the SDK (Last-Event-ID) when the child closes it early
// as the SDK would. Any other answer (an error status, a redirect) is handed, already received, to the
// SDK's own send logic through a one-shot fetch, so auth and error mapping stay exactly the SDK's.
// Handshakes, notifications, responses to the child's requests, batches and resumptions go through the
// SDK unchanged. Measured cost of the SDK's generic path (Headers and Response objects, web streams,
// envelope re-validation): about a third of the proxy's upstream CPU per JSON call, and about half of
// the proxy's whole CPU per call for an SSE answer.
// It must not decide anything about calls; it only moves messages.
import {
  parseJSONRPCMessage,
  PROTOCOL_VERSION_META_KEY,
  StreamableHTTPClientTransport,
  type JSONRPCMessage,
  type StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/client';
import { createParser } from 'eventsource-parser';
import {
  loopbackFetch,
  readLoopbackBody,
  sendLoopback,
  toFetchResponse,
  type LoopbackAnswer,
} from './loopback-fetch.ts';
import { tapSse } from './attribution.ts';

type SendOptions = Parameters<StreamableHTTPClientTransport['send']>[1];

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
}

/** Bounds an SSE answer's unterminated line or event (the SDK's own parser is unbounded). */
const maxSseBuffer = 32 * 2 ** 20;

function isPlainRequest(message: JSONRPCMessage | JSONRPCMessage[]): message is JSONRPCMessage & {
  method: string;
  id: string | number;
} {
  return !Array.isArray(message) && 'method' in message && 'id' in message && message.method !== 'initialize';
}

/** A JSON-RPC response in the shape the SDK's schema accepts; anything else gets the full schema. */
function isPlainResponse(value: unknown): value is JSONRPCMessage {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0' || 'method' in m) return false;
  if (typeof m.id !== 'string' && typeof m.id !== 'number') return false;
  const result = m.result;
  return result !== null && typeof result === 'object' && !Array.isArray(result) && !('error' in m);
}

export class ChildHttpTransport extends StreamableHTTPClientTransport {
  /** Answers received by the direct path for the SDK's send logic, keyed by the request body sent. */
  private readonly received: Map<string, Response>;

  constructor(url: URL, options: ChildHttpTransportOptions = {}) {
    const received = new Map<string, Response>();
    const { attribute, ...sdkOptions } = options;
    super(url, {
      ...sdkOptions,
      fetch: async (input, init) => {
        const body = typeof init?.body === 'string' ? init.body : undefined;
        const early = body === undefined ? undefined : received.get(body);
        if (early !== undefined) received.delete(body!);
        const response = early ?? (await loopbackFetch(input, init));
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
  }

  private readonly attribute: ChildHttpTransportOptions['attribute'];

  override async send(message: JSONRPCMessage | JSONRPCMessage[], options?: SendOptions): Promise<void> {
    const inner = this as unknown as TransportInternals;
    if (
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
    const meta = (message as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
    if (typeof meta?.[PROTOCOL_VERSION_META_KEY] === 'string')
      inner._applyBodyDerivedHeaders(
        { set: (name, value) => (headers[name.toLowerCase()] = value) },
        message,
      );
    const body = JSON.stringify(message);
    const transportSignal = inner._abortController?.signal;
    const signal =
      options?.requestSignal !== undefined && transportSignal !== undefined
        ? [transportSignal, options.requestSignal]
        : (options?.requestSignal ?? transportSignal);

    // Network failures and aborts reject here exactly as the SDK's fetch would.
    const answer = await sendLoopback(inner._url.href, { method: 'POST', headers, body, signal });
    const type = answer.res.headers['content-type'] ?? '';
    if (answer.res.statusCode === 200 && type.startsWith('application/json')) {
      const parsed: unknown = JSON.parse((await readLoopbackBody(answer)).toString('utf8'));
      this.onmessage?.(isPlainResponse(parsed) ? parsed : parseJSONRPCMessage(parsed));
      return;
    }
    if (answer.res.statusCode === 200 && type.startsWith('text/event-stream')) {
      this.readAnswerStream(answer, message.id, options, this.attribute?.());
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

  /**
   * A call's SSE answer, as the SDK's transport reads one: every event id is a resumption token, each
   * `message` event is one JSON-RPC message, and a stream that ends (or breaks) after an event id but
   * before the response is resumed through the SDK's own reconnection (GET with Last-Event-ID).
   * Like the SDK's, it runs on after send() has returned. Unlike the SDK's, a stream that ends without
   * the response and cannot be resumed answers the call with an error at once.
   */
  private readAnswerStream(
    answer: LoopbackAnswer,
    id: string | number,
    options: SendOptions | undefined,
    note: ((message: unknown) => void) | undefined,
  ): void {
    const inner = this as unknown as TransportInternals;
    const { res, done } = answer;
    const requestSignal = options?.requestSignal;
    const onresumptiontoken = options?.onresumptiontoken;
    const onRequestStreamEnd = options?.onRequestStreamEnd;
    const intentional = (): boolean =>
      inner._abortController?.signal.aborted === true || requestSignal?.aborted === true;
    let lastEventId: string | undefined;
    let responded = false;
    const parser = createParser({
      maxBufferSize: maxSseBuffer,
      onRetry: (ms) => {
        inner._serverRetryMs = ms;
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') res.destroy(error);
      },
      onEvent: (event) => {
        if (event.id) {
          lastEventId = event.id;
          onresumptiontoken?.(event.id);
        }
        if (!event.data || (event.event !== undefined && event.event !== 'message')) return;
        try {
          const parsed: unknown = JSON.parse(event.data);
          const message = isPlainResponse(parsed) ? parsed : parseJSONRPCMessage(parsed);
          if (!('method' in message)) responded = true;
          note?.(message);
          this.onmessage?.(message);
        } catch (error) {
          this.onerror?.(error instanceof Error ? error : new Error(String(error)));
        }
      },
    });
    const decoder = new TextDecoder();
    let finished = false;
    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      done();
      if (intentional()) return;
      if (error !== undefined) this.onerror?.(new Error(`SSE stream disconnected: ${error.message}`));
      if (lastEventId !== undefined && !responded && inner._abortController !== undefined) {
        inner._scheduleReconnection(
          { resumptionToken: lastEventId, onresumptiontoken, requestSignal, onRequestStreamEnd },
          0,
        );
      } else {
        // Not resumable: the answer is lost for good (a child answers on the call's own stream only),
        // so the call fails now with a clear error instead of waiting out its timeout.
        if (!responded) {
          this.onmessage?.({
            jsonrpc: '2.0',
            id,
            error: {
              code: -32603,
              message: `The child ended its answer stream without answering${error === undefined ? '' : ` (${error.message})`}`,
            },
          });
        }
        onRequestStreamEnd?.();
      }
    };
    res.on('data', (chunk: Buffer) => parser.feed(decoder.decode(chunk, { stream: true })));
    res.once('end', () => finish());
    res.once('error', (error) => finish(error));
    // A socket torn down mid-stream (the child died) closes without 'end'.
    res.once('close', () => finish(res.readableEnded ? undefined : new Error('the child closed the stream')));
  }
}
