// The built-in authorization server as one part the proxy mounts: the oidc-provider instance, the interaction
// pages, the store (SQLite, or PostgreSQL for replicas), and the two hooks the front door needs (a verifier that refuses tokens whose grant
// is gone, and the step-up scope check). `wrap` puts it beside the proxy's listener on the same node:http
// server: /.well-known/oauth-authorization-server, /.well-known/openid-configuration and /oauth/* are answered
// here, everything else goes on unchanged. It must not touch /mcp.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { validateHostHeader } from '@modelcontextprotocol/server';
import type Provider from 'oidc-provider';
import type { Signer } from '../../auth/keys.ts';
import type { McpcpConfig, OAuthConfig } from '../../config/schema.ts';
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { TokenVerifierLike } from '../app.ts';
import type { NodeListener } from '../edge/node-lane.ts';
import type { ProxyUrls } from '../edge/public-url.ts';
import { createRateLimiter } from '../rate-limit.ts';
import { replicaShare } from '../replica-share.ts';
import { grantClaim } from './claims.ts';
import { createClientFetch } from './client-fetch.ts';
import { createInteractionHandler } from './interactions.ts';
import { createPasswordCheck, type PasswordCheck } from './passwords.ts';
import { createOidcProvider, interactionPath } from './provider.ts';
import { createStepUp, type StepUp } from './scopes.ts';
import { openOAuthStore, type OAuthStore } from './store.ts';

export type { StepUp } from './scopes.ts';

export interface AuthorizationServerOptions {
  config: McpcpConfig;
  oauth: OAuthConfig;
  urls: ProxyUrls;
  signer: Signer;
  /** Host names the server answers on (the proxy's DNS-rebinding guard's list). */
  hosts: readonly string[];
  logger: Logger;
}

export interface AuthorizationServer {
  /** The proxy's listener with the authorization server's paths answered first. */
  wrap(next: NodeListener): NodeListener;
  /** The front door's verifier, refusing OAuth-issued tokens whose grant was revoked or has expired. */
  guardVerifier(verifier: TokenVerifierLike): TokenVerifierLike;
  /** Scope names, for the protected-resource metadata. */
  readonly scopes: readonly string[];
  readonly stepUp: StepUp;
  readonly provider: Provider;
  readonly store: OAuthStore;
  /** The password check of the sign-in page, for the console's sign-in too (one throttle for both). */
  readonly passwords: PasswordCheck;
  close(): Promise<void>;
}

const wellKnownAs = '/.well-known/oauth-authorization-server';
const wellKnownOidc = '/.well-known/openid-configuration';

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    })
    .end(text);
}

export async function createAuthorizationServer(
  options: AuthorizationServerOptions,
): Promise<AuthorizationServer> {
  const { oauth, urls } = options;
  const log = options.logger.child({ component: 'oauth' });
  const extraCa =
    oauth.development.trustedCaFile === undefined
      ? undefined
      : await readFile(oauth.development.trustedCaFile, 'utf8');
  if (oauth.development.allowLoopbackClientIds || extraCa !== undefined) {
    log.warn('oauth.development settings are on: client metadata documents may come from loopback addresses');
  }
  const store = await openOAuthStore({ address: oauth.store, logger: log });
  const [cookieKey, csrfKey] = await Promise.all([
    store.secret('cookie-key'),
    store.secret('csrf-key'),
  ]).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const provider = createOidcProvider({
    cookieKey,
    issuer: urls.issuer,
    resource: urls.resource,
    oauth,
    signer: options.signer,
    store,
    logger: options.logger,
    clientFetch: createClientFetch({
      timeoutMs: oauth.clients.fetchTimeoutMs,
      maxBytes: oauth.clients.maxDocumentBytes,
      allowLoopback: oauth.development.allowLoopbackClientIds,
      extraCa,
    }),
  });
  const publicUrl = new URL(urls.publicUrl);
  const replicas = options.config.proxy.replicas;
  const passwords = createPasswordCheck({ oauth, logger: options.logger, replicas });
  const interactions = createInteractionHandler({
    passwords,
    provider,
    config: options.config,
    oauth,
    store,
    csrfKey,
    publicOrigin: publicUrl.origin,
    logger: options.logger,
  });
  const providerListener = provider.callback();
  const registrations = createRateLimiter<string>({
    // Split across replicas as every MCPCP rate limit is (replica-share.ts).
    limitFor: () =>
      replicaShare(
        {
          requestsPerMinute: oauth.clients.registrationRateLimit.requestsPerMinute,
          burst:
            oauth.clients.registrationRateLimit.burst ??
            oauth.clients.registrationRateLimit.requestsPerMinute,
        },
        replicas,
      ),
    keyOf: (address) => address,
  });
  const sweep = setInterval(() => {
    store.sweep().catch((error: unknown) => {
      log.warn({ err: error }, 'expired OAuth records could not be removed');
    });
  }, 600_000);
  sweep.unref();

  function isOAuthPath(path: string): boolean {
    return path === wellKnownAs || path === wellKnownOidc || path.startsWith('/oauth/');
  }

  function handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (!validateHostHeader(req.headers.host ?? null, [...options.hosts]).ok) {
      return json(res, 403, { error: 'forbidden', error_description: 'unknown Host' });
    }
    // oidc-provider builds its URLs from these (provider.proxy = true): always the public URL, never the caller's.
    req.headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    req.headers['x-forwarded-host'] = publicUrl.host;
    req.headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    if (path.startsWith(`${interactionPath}/`)) {
      interactions(req, res).catch((error: unknown) => {
        log.error({ err: error }, 'interaction failed');
        if (!res.headersSent) json(res, 500, { error: 'server_error' });
      });
      return;
    }
    if (path === wellKnownAs) req.url = wellKnownOidc;
    if (path === '/oauth/register' && req.method === 'POST') {
      const decision = registrations.take(req.socket.remoteAddress ?? 'unknown');
      if (!decision.allowed) {
        log.warn({ address: req.socket.remoteAddress }, 'client registration rate limited');
        return json(
          res,
          429,
          { error: 'rate_limited', error_description: 'too many client registrations; retry later' },
          { 'retry-after': String(decision.retryAfterSeconds) },
        );
      }
    }
    void providerListener(req, res);
  }

  return {
    wrap(next) {
      return (req, res) => {
        const path = (req.url ?? '/').split('?')[0]!;
        if (isOAuthPath(path)) handle(req, res, path);
        else next(req, res);
      };
    },
    guardVerifier(verifier) {
      return {
        async verify(token) {
          const principal = await verifier.verify(token);
          const grantId = principal.claims[grantClaim];
          if (grantId === undefined) return principal;
          const bound = typeof grantId === 'string' ? await store.grantAgent(grantId) : undefined;
          if (bound === undefined || bound.agent !== principal.agent) {
            throw new McpcpError(
              'ERR_TOKEN_REVOKED',
              'the grant behind this token was revoked or has expired',
            );
          }
          return principal;
        },
      };
    },
    scopes: Object.keys(oauth.scopes),
    stepUp: createStepUp(oauth.scopes),
    provider,
    store,
    passwords,
    async close() {
      clearInterval(sweep);
      await store.close();
    },
  };
}
