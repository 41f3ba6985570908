// Streamable HTTP front of a first-party server on loopback (Hono on @hono/node-server), serving both protocol eras
// at /mcp: 2026-07-28 requests through the SDK's per-request handler (subscriptions/listen), 2025-era requests
// through sessionful transports (Mcp-Session-Id, GET stream, resources/subscribe). Every request is authenticated;
// a legacy session stays bound to the agent that opened it, and a modern listen stream to the agent that opened it
// (resource updates reach it only when the server's mayHear allows). It must not know what the server's tools do.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  DEFAULT_MAX_REQUEST_BODY_SIZE,
  WebStandardStreamableHTTPServerTransport,
  createMcpHandler,
  isJsonContentType,
  readRequestBody,
  isInitializeRequest,
  isLegacyRequest,
  type McpServer,
} from '@modelcontextprotocol/server';
import {
  hostHeaderValidation,
  localhostHostValidation,
  localhostOriginValidation,
} from '@modelcontextprotocol/hono';
import { Hono } from 'hono';
import { isMcpcpError, McpcpError } from '../../lib/errors.ts';
import { rpcCodes, toWireError } from '../../lib/wire-errors.ts';
import { noteLaneTaken } from '../../lib/lanes.ts';
import { directPost, plainRequest } from '../../lib/mcp-direct-post.ts';
import type { Logger } from '../../lib/log.ts';
import type { Authenticate, Caller } from './caller.ts';
import { createCallerEventBus, type MayHear } from './listen-bus.ts';

export type ServerFactory = (caller: Caller) => McpServer;

/** "Resource changed" events for 2026-era subscriptions/listen streams, and who may hear them. */
export interface ResourceUpdates {
  /** Registers the sink for change events; returns the unregister function. */
  subscribe(emit: (uri: string) => void): () => void;
  /** The server's read-access decision for uri, asked at every delivery (access changes while a stream is open). */
  mayHear: MayHear;
}

export interface KitHttpOptions {
  factory: ServerFactory;
  authenticate: Authenticate;
  host?: string;
  port?: number;
  logger: Logger;
  /** Change events forwarded to modern subscriptions/listen streams whose caller may hear them. */
  resourceUpdates?: ResourceUpdates;
  maxRequestBodySize?: number;
  /** A 2025-era session idle this long is closed (default 30 minutes). */
  sessionIdleMs?: number;
  /**
   * How a 2025-era session answers a POST: 'json' (default; one JSON body, cheapest, but notifications related to
   * the request, such as progress, are dropped by the SDK in that mode) or 'sse' (a stream per request that carries
   * its progress and log notifications before the answer).
   */
  sessionAnswers?: 'json' | 'sse';
  /** Host names accepted beside localhost (a replica reached through a Service name, e.g. `channels`). */
  allowedHosts?: readonly string[];
  /** Readiness for /readyz (e.g. the store answers); /healthz only says the process serves. */
  ready?: () => Promise<boolean>;
  /** The direct POST past the SDK's dispatch (lib/mcp-direct-post.ts); default on (MCPCP_DIRECT_LANES). */
  directLanes?: boolean;
}

export interface KitHttpServer {
  url: string;
  close(): Promise<void>;
}

function rpcError(
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
  data?: unknown,
): Response {
  const error = data === undefined ? { code, message } : { code, message, data };
  return Response.json({ jsonrpc: '2.0', error, id: null }, { status, headers });
}

/** A local error answered through the one mapping (lib/wire-errors.ts), with a word on what was refused. */
function mappedError(error: unknown, detail?: string, headers?: Record<string, string>): Response {
  const wire = toWireError(error);
  const message = detail === undefined ? wire.message : `${wire.message}: ${detail}`;
  return rpcError(
    wire.status,
    wire.rpcCode,
    message,
    headers,
    wire.code === undefined ? undefined : { code: wire.code },
  );
}

// The caller the auth step resolved for a request, read back by the per-request server factory.
const callers = new WeakMap<Request, Caller>();

export async function startKitHttp(options: KitHttpOptions): Promise<KitHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const log = options.logger;
  const sessions = new Map<
    string,
    {
      transport: WebStandardStreamableHTTPServerTransport;
      server: McpServer;
      agent: string;
      lastSeen: number;
    }
  >();
  // Clients that vanish without DELETE leave sessions behind: close the idle ones.
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - idleMs;
      for (const [id, session] of sessions) {
        if (session.lastSeen < cutoff) {
          sessions.delete(id);
          void session.transport.close().catch(() => undefined);
        }
      }
    },
    Math.min(idleMs, 60_000),
  );
  sweeper.unref();
  const onerror = (error: Error): void => log.warn({ err: error }, 'mcp transport error');
  const updates =
    options.resourceUpdates === undefined
      ? undefined
      : createCallerEventBus({
          mayHear: options.resourceUpdates.mayHear,
          onerror: (error) => log.warn({ err: error }, 'resource update not delivered'),
        });
  const maxRequestBodySize = options.maxRequestBodySize ?? DEFAULT_MAX_REQUEST_BODY_SIZE;
  // The per-request factory reads the caller the auth step attached to the request.
  const modern = createMcpHandler(
    (ctx) => {
      const caller = ctx.requestInfo === undefined ? undefined : callers.get(ctx.requestInfo);
      if (caller === undefined) throw new Error('unauthenticated request reached the server factory');
      return options.factory(caller);
    },
    {
      legacy: 'reject',
      onerror,
      ...(updates ? { bus: updates.bus } : {}),
      ...(options.maxRequestBodySize ? { maxRequestBodySize: options.maxRequestBodySize } : {}),
    },
  );
  const stopUpdates = options.resourceUpdates?.subscribe((uri) => modern.notify.resourceUpdated(uri));

  /** A POST on a live session: a plain request straight to the session's server (lib/mcp-direct-post.ts). */
  async function postOnSession(
    session: { transport: WebStandardStreamableHTTPServerTransport; server: McpServer },
    request: Request,
  ): Promise<Response> {
    if (!isJsonContentType(request.headers.get('content-type')))
      return session.transport.handleRequest(request);
    const body = await readRequestBody(request, maxRequestBodySize);
    if (body.tooLarge)
      return rpcError(
        413,
        rpcCodes.serverError,
        `Payload Too Large: Request body must not exceed ${maxRequestBodySize} bytes`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      return rpcError(400, rpcCodes.parseError, 'Parse error: Invalid JSON');
    }
    const plain = plainRequest(parsed);
    const protocol = session.server.server as unknown as {
      _onrequest(message: unknown, extra: { request: Request }): void;
    };
    const direct =
      plain === undefined || options.directLanes === false
        ? undefined
        : directPost(session.transport, request, plain.id, () => {
            noteLaneTaken('kit-post');
            protocol._onrequest(plain, { request });
          });
    return direct ?? session.transport.handleRequest(request, { parsedBody: parsed });
  }

  async function openLegacySession(request: Request, caller: Caller): Promise<Response> {
    let body: unknown;
    try {
      body = await request.clone().json();
    } catch {
      body = undefined;
    }
    if (!isInitializeRequest(body))
      return rpcError(400, rpcCodes.serverError, 'Bad Request: no valid session');
    const server = options.factory(caller);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Answers are single JSON bodies (cheaper than an SSE stream per call) unless the server streams progress.
      enableJsonResponse: (options.sessionAnswers ?? 'json') === 'json',
      maxRequestBodySize,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, agent: caller.agent, lastSeen: Date.now() });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      void server.close().catch(() => undefined);
    };
    await server.connect(transport);
    return transport.handleRequest(request, { parsedBody: body });
  }

  async function handleMcp(request: Request): Promise<Response> {
    let caller: Caller;
    try {
      caller = await options.authenticate(request);
    } catch (error) {
      if (isMcpcpError(error) && error.code.startsWith('ERR_TOKEN')) {
        log.info({ code: error.code }, 'rejected request');
        return mappedError(error, undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      }
      throw error;
    }
    // A request naming a live session is 2025-era (2026-era requests have none): no classifier needed.
    const named = request.headers.get('mcp-session-id');
    if ((named !== null && sessions.has(named)) || (await isLegacyRequest(request))) {
      if (named === null) {
        if (request.method !== 'POST')
          return rpcError(400, rpcCodes.serverError, 'Bad Request: Mcp-Session-Id header is required');
        return openLegacySession(request, caller);
      }
      const session = sessions.get(named);
      if (session === undefined) return rpcError(404, rpcCodes.sessionNotFound, 'Session not found');
      if (session.agent !== caller.agent)
        return mappedError(
          new McpcpError('ERR_FORBIDDEN', 'foreign session'),
          'the session belongs to another agent',
        );
      session.lastSeen = Date.now();
      if (request.method !== 'POST') return session.transport.handleRequest(request);
      return postOnSession(session, request);
    }
    callers.set(request, caller);
    return updates === undefined
      ? modern.fetch(request)
      : updates.serveAs(caller, () => modern.fetch(request));
  }

  // Probes first: an orchestrator calls them by the pod's address, which no Host allow-list names; they say nothing
  // about any caller or channel.
  const app = new Hono();
  app.get('/healthz', () => Response.json({ ok: true }));
  app.get('/readyz', async () => {
    const ready = (await options.ready?.().catch(() => false)) ?? true;
    return Response.json({ ready }, { status: ready ? 200 : 503 });
  });
  // Host and Origin are checked against DNS rebinding before anything else: loopback names, plus the names an
  // operator allowed for replicas behind a Service.
  const hosts = options.allowedHosts ?? [];
  app.use(
    '*',
    hosts.length === 0
      ? localhostHostValidation()
      : hostHeaderValidation(['localhost', '127.0.0.1', '[::1]', ...hosts]),
    localhostOriginValidation(),
  );
  app.all('/mcp', async (c) => {
    try {
      return await handleMcp(c.req.raw);
    } catch (error) {
      log.error({ err: error }, 'request failed');
      return mappedError(error);
    }
  });

  const httpServer = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 0 }, () =>
      resolve(started),
    );
  });
  // Idle keep-alive sockets outlive the clients' own idle timeout (undici: 4 s), so a client never sends a request
  // on a socket this server is closing at that instant ("closed the connection before answering").
  if ('keepAliveTimeout' in httpServer) {
    httpServer.keepAliveTimeout = 65_000;
    httpServer.headersTimeout = 66_000;
  }
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/mcp`,
    async close() {
      clearInterval(sweeper);
      stopUpdates?.();
      await Promise.allSettled([...sessions.values()].map(({ transport }) => transport.close()));
      sessions.clear();
      await modern.close();
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        if ('closeAllConnections' in httpServer) httpServer.closeAllConnections();
      });
    },
  };
}
