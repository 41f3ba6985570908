// The proxy's HTTP edge as a Hono app: Web Request in, Response out, no Node specifics.
// /mcp passes Host/Origin checks, the body limit, Bearer verification, JSON-RPC framing checks and the
// per-agent rate limit, then hands the request to the gateway. It also serves the RFC 9728 metadata, the fleet's
// public JWKS (/.well-known/jwks.json) and /healthz, /readyz, /metrics. It must not speak MCP beyond framing: that is the gateway's job.
import { Hono } from 'hono';
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { JSONWebKeySet } from 'jose';
import type { McpcpConfig } from '../config/schema.ts';
import { McpcpError, isMcpcpError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { AuditLog } from './audit.ts';
import { bearerChallenge } from './edge/bearer.ts';
import { discardBody, readBodyLimited } from './edge/body.ts';
import { checkEdge, type StepUp } from './edge/edge-checks.ts';
import { jsonRpcErrorBody, jsonRpcErrorResponse, type JsonRpcId } from './edge/jsonrpc.ts';
import { createOriginGuard, type OriginGuard } from './edge/origin-guard.ts';
import { createPublicJwksSource } from './edge/public-jwks.ts';
import { resolveProxyUrls, type ProxyUrls } from './edge/public-url.ts';
import { rpcCodes, toWireError } from './errors-to-wire.ts';
import type { Gateway, Principal } from './gateway/index.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { RateLimiter } from './rate-limit.ts';

export interface TokenVerifierLike {
  verify(token: string): Promise<Principal>;
}

export interface ProxyAppOptions {
  verifier: TokenVerifierLike;
  gateway: Pick<Gateway, 'handleMcp' | 'isReady' | 'upstreamStates' | 'sessionCount'>;
  config: McpcpConfig;
  logger: Logger;
  metrics: ProxyMetrics;
  rateLimiter?: RateLimiter<Principal> | undefined;
  audit?: AuditLog | undefined;
  /** Resolved public URLs (start.ts passes them once the port is bound). Default: from config. */
  urls?: ProxyUrls | undefined;
  /** Scopes every token must carry (403 insufficient_scope otherwise). Default: none. */
  requiredScopes?: readonly string[] | undefined;
  /** Advertised in the protected-resource metadata. Default: ['mcp']. */
  scopesSupported?: readonly string[] | undefined;
  /** The public key set served at /.well-known/jwks.json. Default: keysDir's jwks.json or jwksUrl, public members only. */
  publicJwks?: (() => Promise<JSONWebKeySet>) | undefined;
  /** The Host/Origin guard for /mcp (default: from `urls` and config); start.ts shares it with the lane. */
  guard?: OriginGuard | undefined;
  /**
   * Requests whose rate-limit token was already taken before they reached the app (the node:http lane,
   * proxy/edge/node-lane.ts, hands over a call it has charged but cannot take itself).
   */
  charged?: WeakSet<Request> | undefined;
  /**
   * Step-up for OAuth-issued tokens (proxy/oauth/scopes.ts): the scopes a request needs when its token lacks
   * them, answered with 403 insufficient_scope naming them. Default: none.
   */
  stepUp?: StepUp | undefined;
  /** Scopes named in the 401 challenge, so OAuth clients know what to ask for. Default: none. */
  challengeScopes?: readonly string[] | undefined;
  /** Extra routes (e.g. the OAuth authorization server) mounted on the same origin. */
  routes?: ((app: Hono) => void) | undefined;
}

const knownRoutes = new Set([
  '/mcp',
  '/healthz',
  '/readyz',
  '/metrics',
  '/.well-known/oauth-protected-resource',
  '/.well-known/oauth-protected-resource/mcp',
  '/.well-known/jwks.json',
]);

const mcpHeaders = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Mcp-Session-Id',
  'Mcp-Protocol-Version',
  'Mcp-Method',
  'Mcp-Name',
  'Last-Event-ID',
];

/** The qualified name or URI a request targets, for audit lines. */
function targetOf(params: Record<string, unknown> | undefined): string {
  const name = params?.name ?? params?.uri;
  return typeof name === 'string' ? name.slice(0, 256) : '';
}

export function createProxyApp(options: ProxyAppOptions): Hono {
  const { verifier, gateway, config, logger, metrics } = options;
  const maxBodyBytes = config.proxy.limits.maxBodyBytes;
  if (!(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0))
    throw new RangeError('limits.maxBodyBytes must be > 0');
  const urls = options.urls ?? resolveProxyUrls(config.proxy);
  const requiredScopes = options.requiredScopes ?? [];
  const guard =
    options.guard ??
    createOriginGuard({ publicUrl: urls.publicUrl, allowedOrigins: config.proxy.allowedOrigins });
  const log = logger.child({ component: 'edge' });
  const metadata = {
    resource: urls.resource,
    authorization_servers: [urls.issuer],
    bearer_methods_supported: ['header'],
    scopes_supported: [...(options.scopesSupported ?? ['mcp'])],
    resource_name: 'MCPCP',
  };

  const publicJwks =
    options.publicJwks ??
    createPublicJwksSource({ keysDir: config.proxy.keysDir, jwksUrl: config.proxy.jwksUrl });

  metrics.setSources({
    upstreams: () => gateway.upstreamStates().map((s) => ({ server: s.id, up: s.state === 'ready' })),
    sessions: () => gateway.sessionCount(),
  });

  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    metrics.recordHttp(knownRoutes.has(c.req.path) ? c.req.path : 'other', c.req.method, c.res.status);
  });

  app.onError((error, c) => {
    log.error({ err: error, path: c.req.path }, 'unhandled error at the edge');
    return jsonRpcErrorResponse(500, rpcCodes.internalError, 'Internal error');
  });
  app.notFound(() => Response.json({ error: 'not_found' }, { status: 404 }));

  // Liveness and readiness need no Host check: orchestrators probe them by pod address.
  app.get('/healthz', () => Response.json({ ok: true }));
  app.get('/readyz', () => {
    const ready = gateway.isReady();
    return Response.json({ ready, upstreams: gateway.upstreamStates() }, { status: ready ? 200 : 503 });
  });

  // RFC 9728: the resource's metadata, at the root and at the path-suffixed form for /mcp.
  const wellKnownCors = cors({ origin: '*', allowMethods: ['GET', 'OPTIONS'] });
  for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
    app.use(path, wellKnownCors);
    app.get(path, () => Response.json(metadata, { headers: { 'cache-control': 'max-age=3600' } }));
  }

  // The fleet's public keys: tokens and channel receipts (signed heads) verify against them (`mcpcp verify`).
  app.use('/.well-known/jwks.json', wellKnownCors);
  app.get('/.well-known/jwks.json', async () => {
    try {
      return Response.json(await publicJwks(), { headers: { 'cache-control': 'max-age=300' } });
    } catch (error) {
      log.warn({ err: error }, 'public JWKS unavailable');
      return Response.json({ error: 'jwks_unavailable' }, { status: 503 });
    }
  });

  app.use('/metrics', guard.host);
  app.get('/metrics', async () => {
    const { contentType, body } = await metrics.render();
    return new Response(body, { headers: { 'content-type': contentType } });
  });

  options.routes?.(app);

  app.use('/mcp', guard.host, guard.origin);
  // For browsers: the origin was already checked, so it is reflected (no Origin, no CORS headers).
  const mcpCors = cors({
    origin: (origin) => origin,
    allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: mcpHeaders,
    exposeHeaders: ['Mcp-Session-Id', 'WWW-Authenticate', 'Retry-After'],
    maxAge: 600,
  });
  // Only a browser request (one with an Origin) gets CORS headers. Running the middleware for every
  // request would make Hono build a placeholder response and copy its headers into each real one,
  // which costs more CPU than the rest of the edge (measured with bench/proxy.ts).
  const browserCors: MiddlewareHandler = (c, next) =>
    c.req.header('origin') === undefined ? next() : mcpCors(c, next);
  app.use('/mcp', browserCors);

  // What is left of a refused body is read and thrown away, up to this much and this long, before the connection
  // closes (proxy/edge/body.ts).
  const discardLimitBytes = Math.max(8 * 1024 * 1024, 4 * maxBodyBytes);
  const discardTimeoutMs = 10_000;

  /**
   * 413 with `Connection: close`, answered at once (its whole JSON body, with its length, goes out first) and
   * ended only once the rest of the request body has been discarded: the client gets the answer however it reads,
   * and the connection closes after it, cleanly.
   */
  function tooLarge(request: Request): Response {
    const text = jsonRpcErrorBody(
      null,
      rpcCodes.serverError,
      `Payload Too Large: the request body must not exceed ${maxBodyBytes} bytes`,
    );
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        void discardBody(request, discardLimitBytes, discardTimeoutMs).finally(() => controller.close());
      },
    });
    return new Response(body, {
      status: 413,
      headers: {
        'content-type': 'application/json',
        'content-length': String(bytes.byteLength),
        connection: 'close',
      },
    });
  }

  function authFailure(error: unknown): Response {
    const wire = toWireError(error);
    if (wire.status !== 401) {
      if (wire.internal) log.error({ err: error }, 'token verification failed unexpectedly');
      else log.warn({ code: isMcpcpError(error) ? error.code : undefined }, 'token verification unavailable');
      return jsonRpcErrorResponse(wire.status, wire.rpcCode, wire.message);
    }
    const missing = isMcpcpError(error, 'ERR_TOKEN_MISSING');
    if (!missing) log.debug({ code: isMcpcpError(error) ? error.code : undefined }, 'token refused');
    const challenge = missing
      ? bearerChallenge({ resourceMetadataUrl: urls.resourceMetadataUrl, scope: options.challengeScopes })
      : bearerChallenge({
          resourceMetadataUrl: urls.resourceMetadataUrl,
          error: 'invalid_token',
          description: wire.message,
        });
    return jsonRpcErrorResponse(401, wire.rpcCode, `Unauthorized: ${wire.message}`, {
      headers: { 'www-authenticate': challenge },
      data: { code: wire.code },
    });
  }

  function insufficientScope(scope: readonly string[] = requiredScopes, id: JsonRpcId = null): Response {
    const challenge = bearerChallenge({
      resourceMetadataUrl: urls.resourceMetadataUrl,
      error: 'insufficient_scope',
      description: 'The access token lacks a required scope',
      scope,
    });
    const wire = toWireError(new McpcpError('ERR_FORBIDDEN', 'a required scope is missing'));
    return jsonRpcErrorResponse(wire.status, wire.rpcCode, `${wire.message}: insufficient scope`, {
      id,
      headers: { 'www-authenticate': challenge },
    });
  }

  async function forward(
    c: Context,
    principal: Principal,
    parsedBody: unknown,
    id: JsonRpcId,
  ): Promise<Response> {
    try {
      return await gateway.handleMcp(
        c.req.raw,
        principal,
        parsedBody === undefined ? undefined : { parsedBody },
      );
    } catch (error) {
      const wire = toWireError(error);
      if (wire.internal) log.error({ err: error, agent: principal.agent }, 'gateway failed');
      return jsonRpcErrorResponse(wire.status, wire.rpcCode, wire.message, { id });
    }
  }

  app.on(['GET', 'POST', 'DELETE'], '/mcp', async (c) => {
    const request = c.req.raw;
    const isPost = request.method === 'POST';
    // A declared oversize body is refused before anything else is spent on it.
    if (isPost && Number(request.headers.get('content-length')) > maxBodyBytes) return tooLarge(request);

    // The edge's checks, in order (proxy/edge/edge-checks.ts, shared with the node:http lane).
    const verdict = await checkEdge(
      {
        authorization: request.headers.get('authorization'),
        contentType: request.headers.get('content-type'),
        // Bounded by the declared length, or counted while streaming (proxy/edge/body.ts).
        readBody: isPost ? () => readBodyLimited(request, maxBodyBytes) : undefined,
        charged: options.charged?.has(request) ?? false,
      },
      { verifier, requiredScopes, rateLimiter: options.rateLimiter, stepUp: options.stepUp },
    );
    if (verdict.ok) {
      const id = verdict.check?.kind === 'request' ? verdict.check.id : null;
      return forward(c, verdict.principal, verdict.message, id);
    }
    switch (verdict.step) {
      case 'token':
        return authFailure(verdict.error);
      case 'scope':
        return insufficientScope();
      case 'step-up':
        return insufficientScope(verdict.scopes, verdict.id);
      case 'media-type':
        return jsonRpcErrorResponse(
          415,
          rpcCodes.serverError,
          'Unsupported Media Type: Content-Type must be application/json',
        );
      case 'too-large':
        return tooLarge(request);
      case 'unreadable':
        // The client went away or sent a broken stream: its problem, not an internal error.
        log.debug({ err: verdict.error }, 'request body could not be read');
        return jsonRpcErrorResponse(400, rpcCodes.parseError, 'Parse error: the body could not be read');
      case 'parse':
        return jsonRpcErrorResponse(400, rpcCodes.parseError, 'Parse error: the body is not valid JSON');
      case 'shape':
        return jsonRpcErrorResponse(400, verdict.code, verdict.message, { id: verdict.id });
      case 'rate': {
        const { principal, check, decision } = verdict;
        const name = targetOf(check.params);
        metrics.recordRateLimited(principal.agent);
        const event = {
          agent: principal.agent,
          method: check.method,
          name,
          decision: 'deny' as const,
          rule: 'rate-limit',
          durationMs: 0,
          outcome: 'rate_limited',
        };
        metrics.recordCall(event);
        options.audit?.call(event);
        const wire = toWireError(
          new McpcpError('ERR_RATE_LIMITED', `agent ${principal.agent} over its limit`),
        );
        return jsonRpcErrorResponse(wire.status, wire.rpcCode, wire.message, {
          id: check.id,
          headers: { 'retry-after': String(decision.retryAfterSeconds) },
          data: { retryAfterSeconds: decision.retryAfterSeconds },
        });
      }
    }
  });

  app.all('/mcp', () =>
    jsonRpcErrorResponse(405, rpcCodes.serverError, 'Method Not Allowed', {
      headers: { allow: 'GET, POST, DELETE, OPTIONS' },
    }),
  );

  return app;
}
