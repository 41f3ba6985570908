// Configures panva's oidc-provider as MCPCP's authorization server (ARCHITECTURE.md decision 15): code flow
// with S256 PKCE only, public clients (`none`), Client ID Metadata Documents fetched through
// proxy/oauth/client-fetch.ts, Dynamic Client Registration, `resource` (RFC 8707) required and bound into the
// access token's `aud`, refresh tokens rotated on every use (reuse revokes the grant, so the whole family
// dies), revocation. Access tokens are the proxy's own agent JWTs: RS256 with the fleet key, `sub` = the agent
// chosen at consent. It must not render pages or check passwords: proxy/oauth/interactions.ts does.
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import Provider, {
  errors,
  interactionPolicy,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { OAuthConfig } from '../../config/schema.ts';
import type { Signer } from '../../auth/keys.ts';
import type { Logger } from '../../lib/log.ts';
import { grantClaim, userClaim } from './claims.ts';
import type { FetchLike } from './client-fetch.ts';
import { hostAllowed } from './client-hosts.ts';
import { renderErrorPage } from './pages.ts';
import type { OAuthStore } from './store.ts';

export const oauthRoutes = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  registration: '/oauth/register',
  revocation: '/oauth/revoke',
  jwks: '/oauth/jwks',
  userinfo: '/oauth/userinfo',
  end_session: '/oauth/logout',
  code_verification: '/oauth/device',
  device_authorization: '/oauth/device/auth',
  introspection: '/oauth/introspect',
  pushed_authorization_request: '/oauth/par',
  backchannel_authentication: '/oauth/backchannel',
  challenge: '/oauth/challenge',
} as const;

export const interactionPath = '/oauth/interaction';

export interface OidcProviderOptions {
  issuer: string;
  /** The canonical resource (the proxy's /mcp URL): the only `resource` tokens are issued for. */
  resource: string;
  oauth: OAuthConfig;
  signer: Signer;
  store: OAuthStore;
  /** The cookie signing key every replica shares (the store's `cookie-key` secret). */
  cookieKey: string;
  clientFetch: FetchLike;
  logger: Logger;
}

function signingJwk(signer: Signer): Record<string, unknown> {
  const jwk = (signer.privateKey as KeyObject).export({ format: 'jwk' });
  return { ...jwk, kid: signer.kid, alg: 'RS256', use: 'sig' };
}

/** Every authorization needs a consent made for it: the agent is chosen per connection, never remembered. */
function consentEveryTime(): ReturnType<typeof interactionPolicy.base> {
  const policy = interactionPolicy.base();
  const consent = policy.get('consent');
  consent?.checks.add(
    new interactionPolicy.Check(
      'mcpcp_choose_agent',
      'the person chooses the agent for this connection',
      (ctx) =>
        ctx.oidc.result?.consent?.grantId === undefined
          ? interactionPolicy.Check.REQUEST_PROMPT
          : interactionPolicy.Check.NO_NEED_TO_PROMPT,
    ),
  );
  return policy;
}

export function createOidcProvider(options: OidcProviderOptions): Provider {
  const { oauth, store, resource } = options;
  const log = options.logger.child({ component: 'oauth' });
  const lifetimes = oauth.lifetimes;
  const scopeNames = Object.keys(oauth.scopes);
  const secure = new URL(options.issuer).protocol === 'https:';

  const configuration: Configuration = {
    adapter: (name: string) => store.adapterFor(name),
    jwks: { keys: [signingJwk(options.signer)] },
    routes: oauthRoutes,
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
    },
    // MCPCP's scopes are listed here too, or oidc-provider refuses them in registered client metadata.
    scopes: ['openid', 'offline_access', ...scopeNames],
    claims: { openid: ['sub'] },
    cookies: {
      keys: [options.cookieKey],
      long: { secure, sameSite: 'lax', httpOnly: true },
      short: { secure, sameSite: 'lax', httpOnly: true },
    },
    ttl: {
      AccessToken: lifetimes.accessTokenSeconds,
      AuthorizationCode: lifetimes.authorizationCodeSeconds,
      RefreshToken: lifetimes.refreshTokenSeconds,
      Grant: lifetimes.grantSeconds,
      Session: lifetimes.loginSessionSeconds,
      Interaction: 600,
      RegistrationAccessToken: 86_400,
    },
    rotateRefreshToken: true,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    interactions: {
      policy: consentEveryTime(),
      url: (_ctx, interaction) => `${interactionPath}/${interaction.uid}`,
    },
    // Only the grant made by this very consent counts (see consentEveryTime).
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId;
      return grantId === undefined ? undefined : ctx.oidc.provider.Grant.find(grantId);
    },
    findAccount: (_ctx, id) =>
      Object.hasOwn(oauth.users, id) ? { accountId: id, claims: () => ({ sub: id }) } : undefined,
    features: {
      devInteractions: { enabled: false },
      // Off: the front door verifies bearer tokens only, so a DPoP-bound token would lose its binding there.
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: false },
      introspection: { enabled: false },
      // A client may revoke only its own tokens (RFC 7009 §2.1); others' are ignored with 200, as the RFC asks.
      revocation: {
        enabled: true,
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      registration: {
        enabled: oauth.clients.registration,
        initialAccessToken: false,
        issueRegistrationAccessToken: false,
      },
      clientIdMetadataDocument: {
        enabled: oauth.clients.metadataDocuments,
        ack: 'draft-02',
        allowFetch: (_ctx, clientId) => hostAllowed(new URL(clientId).hostname, oauth.clients.allowedHosts),
        allowClient: () => true,
        cacheDuration: { min: 30, max: 86_400 },
      },
      resourceIndicators: {
        enabled: true,
        // No default: a request without `resource` is refused (MCP requires it on every request).
        defaultResource: (ctx) => {
          if (ctx.oidc.params?.resource === undefined) {
            throw new errors.InvalidTarget(`the resource parameter is required (${resource})`);
          }
          return undefined;
        },
        useGrantedResource: () => false,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== resource) {
            throw new errors.InvalidTarget(
              `unknown resource; this server issues tokens for ${resource} only`,
            );
          }
          return {
            scope: scopeNames.join(' '),
            audience: resource,
            accessTokenTTL: lifetimes.accessTokenSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    formats: {
      customizers: {
        // The access token becomes an agent token: `sub` is the agent the person chose at consent.
        jwt: async (_ctx, token, jwt) => {
          const grantId = (token as { grantId?: string }).grantId;
          const bound = grantId === undefined ? undefined : await store.grantAgent(grantId);
          const user = bound === undefined ? undefined : oauth.users[bound.user];
          if (bound === undefined || user === undefined || !user.agents.includes(bound.agent)) {
            throw new errors.InvalidGrant('the grant no longer allows this agent');
          }
          jwt.payload.sub = bound.agent;
          jwt.payload[userClaim] = bound.user;
          jwt.payload[grantClaim] = grantId;
        },
      },
    },
    fetch: options.clientFetch as Configuration['fetch'],
    fetchResponseBodyLimits: { 'client_id metadata document': oauth.clients.maxDocumentBytes },
    clientBasedCORS: () => true,
    renderError: (ctx: KoaContextWithOIDC, out) => {
      log.debug({ error: out.error, description: out.error_description }, 'authorization error page');
      ctx.type = 'html';
      ctx.body = renderErrorPage(String(out.error), String(out.error_description ?? ''));
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  };
  const provider = new Provider(options.issuer, configuration);
  provider.use(requireResourceAtToken(resource));
  provider.use(async (ctx, next) => {
    await next();
    // RFC 8414 metadata: the scopes a client may ask for are MCPCP's, not OpenID Connect's.
    const route = (ctx as { oidc?: { route?: string } }).oidc?.route;
    if (route === 'discovery' && typeof ctx.body === 'object' && ctx.body !== null) {
      (ctx.body as Record<string, unknown>).scopes_supported = scopeNames;
    }
  });
  // Public URLs are built from the forwarded headers the mount sets from publicUrl (proxy/oauth/mount.ts).
  provider.proxy = true;
  provider.on('server_error', (_ctx, error) => log.error({ err: error }, 'authorization server error'));
  provider.on('grant.revoked', (_ctx, grantId) => log.info({ grant: grantId }, 'grant revoked'));
  return provider;
}

/** oidc-provider's own body limit for form posts. */
const maxTokenRequestBytes = 56 * 1024;

/**
 * MCP requires `resource` on token requests too; oidc-provider would fall back to the code's or refresh
 * token's resource, and only after consuming it. So the body is read here first, refused without `resource`,
 * and otherwise handed on as a fresh stream with the same headers.
 */
function requireResourceAtToken(resource: string): Parameters<Provider['use']>[0] {
  return async (ctx, next) => {
    if (
      ctx.path !== oauthRoutes.token ||
      ctx.method !== 'POST' ||
      !ctx.is('application/x-www-form-urlencoded')
    ) {
      await next();
      return;
    }
    const req = ctx.req;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxTokenRequestBytes) {
        ctx.status = 413;
        ctx.body = { error: 'invalid_request', error_description: 'request body too large' };
        return;
      }
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const params = new URLSearchParams(body.toString('utf8'));
    const grantType = params.get('grant_type');
    if ((grantType === 'authorization_code' || grantType === 'refresh_token') && !params.has('resource')) {
      ctx.status = 400;
      ctx.set('cache-control', 'no-store');
      ctx.body = {
        error: 'invalid_target',
        error_description: `the resource parameter is required (${resource})`,
      };
      return;
    }
    const replay = Object.assign(Readable.from([body]), {
      headers: req.headers,
      method: req.method,
      url: req.url,
      socket: req.socket,
    });
    ctx.req = replay as unknown as IncomingMessage;
    await next();
  };
}
