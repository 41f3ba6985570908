// The Streamable HTTP client transport toward one child: the SDK's StreamableHTTPClientTransport, with a
// direct path for the answer nearly every call gets. A single JSON-RPC request is POSTed through
// node:http with plain headers; a 200 JSON answer is parsed once and handed to the SDK Client. Any
// other answer (an SSE stream, an error status, a redirect) is handed, already received, to the SDK's
// own send logic through a one-shot fetch, so streams, resumption, auth and error mapping stay exactly
// the SDK's. Handshakes, notifications, responses to the child's requests, batches and resumptions go
// through the SDK unchanged. Measured cost of the SDK's generic path (Headers and Response objects,
// body mixins, envelope re-validation): about a third of the proxy's upstream CPU per call.
// It must not decide anything about calls; it only moves messages.
import {
  parseJSONRPCMessage,
  PROTOCOL_VERSION_META_KEY,
  StreamableHTTPClientTransport,
  type JSONRPCMessage,
  type StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/client';
import { loopbackFetch, readLoopbackBody, sendLoopback, toFetchResponse } from './loopback-fetch.ts';

type SendOptions = Parameters<StreamableHTTPClientTransport['send']>[1];

/** The SDK transport's fields this path reads (private in its typings, stable in its send path). */
interface TransportInternals {
  _url: URL;
  _requestInit?: RequestInit;
  _authProvider?: { token(): Promise<string | undefined> };
  _sessionId?: string;
  _protocolVersion?: string;
  _abortController?: AbortController;
  _applyBodyDerivedHeaders(
    headers: { set(name: string, value: string): void },
    message: JSONRPCMessage,
  ): void;
}

export interface ChildHttpTransportOptions extends Omit<StreamableHTTPClientTransportOptions, 'fetch'> {
  /** Sees every SSE answer body (in the sending caller's async context) and may wrap it. */
  onSseBody?: (body: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;
}

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
    const { onSseBody, ...sdkOptions } = options;
    super(url, {
      ...sdkOptions,
      fetch: async (input, init) => {
        const body = typeof init?.body === 'string' ? init.body : undefined;
        const early = body === undefined ? undefined : received.get(body);
        if (early !== undefined) received.delete(body!);
        const response = early ?? (await loopbackFetch(input, init));
        if (onSseBody === undefined || response.body === null) return response;
        if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) return response;
        return new Response(onSseBody(response.body), {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
        });
      },
    });
    this.received = received;
  }

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
    // Everything else: the SDK's own send logic, given the answer we already have.
    this.received.set(body, await toFetchResponse(answer, 'POST'));
    try {
      return await super.send(message, options);
    } finally {
      this.received.delete(body);
    }
  }
}
