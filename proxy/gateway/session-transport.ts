// The 2025-era session transport: the SDK's WebStandardStreamableHTTPServerTransport, answering each
// POST with a plain JSON body unless the call sends something before its result. A call that emits
// progress, a log line or a server→client request (sampling, elicitation, roots) is upgraded to an SSE
// stream at its first such message, so nothing is lost; the common call that just returns a result is
// written as one JSON response (one socket write, no stream machinery). The spec lets the server pick
// either content type per POST. A client whose Accept lists text/event-stream before application/json
// says it prefers the stream: its POSTs get SSE from the start, as the bare SDK transport would answer.
// It must not change what is sent, only how it is framed; it knows nothing about agents or policy.
import {
  directPost,
  directPostTo,
  type DirectSink,
  type HeaderSource,
  type RequestId,
} from '../../lib/mcp-direct-post.ts';
import {
  WebStandardStreamableHTTPServerTransport,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type WebStandardStreamableHTTPServerTransportOptions,
} from '@modelcontextprotocol/server';

type Encoder = InstanceType<typeof TextEncoder>;

/** The SDK's per-POST stream record (private in its typings; stable in its JSON/SSE code paths). */
interface StreamEntry {
  resolveJson?: (response: Response) => void;
  /** A direct POST whose writer takes the answer as serialised JSON (lib/mcp-direct-post.ts). */
  resolveText?: ((message: string) => void) | undefined;
  controller?: ReadableStreamDefaultController<Uint8Array>;
  encoder?: Encoder;
  cleanup: () => void;
}

interface TransportInternals {
  _streamMapping: Map<string, StreamEntry>;
  _requestToStreamMapping: Map<RequestId, string>;
  writeSSEEvent(
    controller: ReadableStreamDefaultController<Uint8Array>,
    encoder: Encoder,
    message: JSONRPCMessage,
  ): boolean;
  startKeepAlive(
    controller: ReadableStreamDefaultController<Uint8Array>,
    encoder: Encoder,
  ): ReturnType<typeof setInterval> | undefined;
}

const sseHeaders = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return !('method' in message) && 'id' in message;
}

/** Accept lists text/event-stream ahead of application/json: the client asks for the stream first. */
function prefersSse(request: HeaderSource | undefined): boolean {
  const accept = request?.headers.get('accept');
  if (accept === null || accept === undefined) return false;
  const sse = accept.indexOf('text/event-stream');
  const json = accept.indexOf('application/json');
  return sse >= 0 && (json < 0 || sse < json);
}

export class JsonFirstSessionTransport extends WebStandardStreamableHTTPServerTransport {
  constructor(options: Omit<WebStandardStreamableHTTPServerTransportOptions, 'enableJsonResponse'>) {
    super({ ...options, enableJsonResponse: true });
  }

  /**
   * The Server has set `onmessage` when it starts its transport: wrap it once (a plain assignment, so the
   * transport keeps its fast object shape) so an SSE-preferring POST is upgraded before its request is
   * dispatched (the SDK has registered the request's stream by then).
   */
  override async start(): Promise<void> {
    const handler = this.onmessage;
    if (handler !== undefined) {
      this.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => {
        if ('method' in message && 'id' in message && prefersSse(extra?.request)) this.upgradeFor(message.id);
        handler(message, extra);
      };
    }
    return super.start();
  }

  /**
   * Takes one plain request POSTed on this session past the SDK's generic POST handling
   * (lib/mcp-direct-post.ts); a client preferring SSE keeps the SDK's path, which streams from the start.
   */
  directPost(req: HeaderSource, id: RequestId, dispatch: () => void): Promise<Response> | undefined {
    return prefersSse(req) ? undefined : directPost(this, req, id, dispatch);
  }

  /** `directPost` with its answer going to `sink` (the node:http lane, proxy/edge/node-lane.ts). */
  directPostTo(req: HeaderSource, id: RequestId, dispatch: () => void, sink: DirectSink): boolean {
    return !prefersSse(req) && directPostTo(this, req, id, dispatch, sink);
  }

  /**
   * Sends the response to a `directPost` request: one JSON body when nothing went before it, else
   * through `send` (the call was upgraded to SSE and its stream ends with this event).
   */
  async answer(message: JSONRPCMessage & { id: RequestId }): Promise<void> {
    const inner = this as unknown as TransportInternals;
    const streamId = inner._requestToStreamMapping.get(message.id);
    const stream = streamId === undefined ? undefined : inner._streamMapping.get(streamId);
    const resolve = stream?.resolveJson;
    if (stream === undefined || resolve === undefined) return this.send(message);
    const resolveText = stream.resolveText;
    delete stream.resolveJson;
    delete stream.resolveText;
    inner._requestToStreamMapping.delete(message.id);
    stream.cleanup();
    if (resolveText !== undefined) return resolveText(JSON.stringify(message));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    resolve(new Response(JSON.stringify(message), { status: 200, headers }));
  }

  override async send(message: JSONRPCMessage, options?: { relatedRequestId?: RequestId }): Promise<void> {
    const inner = this as unknown as TransportInternals;
    const requestId = isResponse(message) ? message.id : options?.relatedRequestId;
    if (requestId !== undefined) {
      const streamId = inner._requestToStreamMapping.get(requestId);
      const stream = streamId === undefined ? undefined : inner._streamMapping.get(streamId);
      if (stream !== undefined && streamId !== undefined) {
        if (stream.resolveJson !== undefined && !isResponse(message)) this.upgrade(streamId, stream);
        if (stream.controller !== undefined && stream.encoder !== undefined)
          inner.writeSSEEvent(stream.controller, stream.encoder, message);
      }
    }
    // The SDK records the response and, once the POST is complete, answers JSON or ends the stream.
    return super.send(message, options);
  }

  override async close(): Promise<void> {
    // A POST still waiting for its JSON answer ends like an SSE stream would: empty, at once.
    for (const stream of (this as unknown as TransportInternals)._streamMapping.values()) {
      const resolve = stream.resolveJson;
      if (resolve === undefined) continue;
      delete stream.resolveJson;
      delete stream.resolveText;
      resolve(new Response(null, { status: 200, headers: this.headers() }));
    }
    return super.close();
  }

  private upgradeFor(requestId: RequestId): void {
    const inner = this as unknown as TransportInternals;
    const streamId = inner._requestToStreamMapping.get(requestId);
    const stream = streamId === undefined ? undefined : inner._streamMapping.get(streamId);
    if (streamId !== undefined && stream?.resolveJson !== undefined) this.upgrade(streamId, stream);
  }

  /** Turns a pending JSON answer into an SSE stream: its first event is about to be written. */
  private upgrade(streamId: string, stream: StreamEntry): void {
    const inner = this as unknown as TransportInternals;
    const resolve = stream.resolveJson!;
    delete stream.resolveJson;
    delete stream.resolveText;
    const encoder = new TextEncoder();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => {
        if (keepAlive !== undefined) clearInterval(keepAlive);
        if (inner._streamMapping.get(streamId) === stream) inner._streamMapping.delete(streamId);
      },
    });
    stream.controller = controller;
    stream.encoder = encoder;
    stream.cleanup = () => {
      if (keepAlive !== undefined) clearInterval(keepAlive);
      inner._streamMapping.delete(streamId);
      try {
        controller.close();
      } catch {
        // already closed or cancelled by the client
      }
    };
    const keepAlive = inner.startKeepAlive(controller, encoder);
    resolve(new Response(readable, { status: 200, headers: this.headers() }));
  }

  private headers(): Record<string, string> {
    return this.sessionId === undefined
      ? { ...sseHeaders }
      : { ...sseHeaders, 'mcp-session-id': this.sessionId };
  }
}
