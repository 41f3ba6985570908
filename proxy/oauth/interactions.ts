// The person's side of an authorization: GET /oauth/interaction/:uid shows the sign-in or the consent page,
// POST …/login checks a password (passwords.ts), POST …/consent records the chosen agent and scopes as a grant.
// Both forms are CSRF-protected (proxy/oauth/csrf.ts). It must not issue tokens: oidc-provider resumes the
// authorization once the interaction is finished.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { summariseAccess } from '../../auth/access-summary.ts';
import type { McpcpConfig, OAuthConfig } from '../../config/schema.ts';
import type { Logger } from '../../lib/log.ts';
import {
  checkCsrf,
  csrfCookie,
  csrfCookieHeader,
  csrfToken,
  newCsrfCookieValue,
  readCookie,
} from './csrf.ts';
import {
  pageHeaders,
  renderConsentPage,
  renderErrorPage,
  renderLoginPage,
  type ClientView,
} from './pages.ts';
import type { PasswordCheck } from './passwords.ts';
import { interactionPath } from './provider.ts';
import type { OAuthStore } from './store.ts';

export interface InteractionOptions {
  provider: Provider;
  config: McpcpConfig;
  oauth: OAuthConfig;
  store: OAuthStore;
  /** The CSRF signing key every replica shares (the store's `csrf-key` secret). */
  csrfKey: string;
  /** The password check (shared with the console's sign-in). */
  passwords: PasswordCheck;
  /** The public origin forms must be posted from. */
  publicOrigin: string;
  logger: Logger;
}

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const maxFormBytes = 16 * 1024;

function send(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res
    .writeHead(status, { ...pageHeaders, ...headers, 'content-length': String(Buffer.byteLength(html)) })
    .end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxFormBytes) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function createInteractionHandler(options: InteractionOptions): NodeHandler {
  const { provider, oauth, store, passwords } = options;
  const log = options.logger.child({ component: 'oauth' });
  const secret = options.csrfKey;
  const secure = options.publicOrigin.startsWith('https:');
  const access = new Map(summariseAccess(options.config).map((a) => [a.agent, a]));

  async function clientView(clientId: string, redirectUri: string): Promise<ClientView> {
    const client = await provider.Client.find(clientId);
    const cimd =
      (client as { clientIdMetadataDocument?: boolean } | undefined)?.clientIdMetadataDocument === true;
    return {
      name: typeof client?.clientName === 'string' && client.clientName !== '' ? client.clientName : clientId,
      clientId,
      redirectHost: new URL(redirectUri).host,
      kind: cimd ? 'metadata-document' : 'registered',
    };
  }

  /** The CSRF cookie of this browser (set when missing) and the form token for this interaction. */
  function csrfFor(req: IncomingMessage, uid: string): { token: string; setCookie?: string } {
    const existing = readCookie(req.headers.cookie, csrfCookie);
    const value = existing ?? newCsrfCookieValue();
    const token = csrfToken(secret, value, uid);
    return existing === undefined
      ? { token, setCookie: csrfCookieHeader(value, { path: interactionPath, secure }) }
      : { token };
  }

  /** The MCPCP scopes asked for (the token carries exactly these once consented). */
  function requestedScopes(scope: unknown): string[] {
    const asked = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
    return asked.filter((s) => Object.hasOwn(oauth.scopes, s));
  }

  async function showPage(
    req: IncomingMessage,
    res: ServerResponse,
    error?: { status: number; message: string },
    user?: string,
  ): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const params = details.params as Record<string, unknown>;
    const client = await clientView(String(params.client_id), String(params.redirect_uri));
    const csrf = csrfFor(req, details.uid);
    const headers: Record<string, string> =
      csrf.setCookie === undefined ? {} : { 'set-cookie': csrf.setCookie };
    if (details.prompt.name === 'login') {
      const html = renderLoginPage({
        client,
        action: `${interactionPath}/${details.uid}/login`,
        csrf: csrf.token,
        user,
        error: error?.message,
      });
      return send(res, error?.status ?? 200, html, headers);
    }
    const accountId = details.session?.accountId ?? '';
    const person = oauth.users[accountId];
    if (details.prompt.name !== 'consent' || person === undefined) {
      return send(
        res,
        400,
        renderErrorPage('invalid_request', 'This step of the sign-in is not known here.'),
      );
    }
    const html = renderConsentPage({
      client,
      user: accountId,
      agents: person.agents.map((name) => ({ name, access: access.get(name) ?? access.get('*') })),
      scopes: requestedScopes(params.scope).map((name) => ({
        name,
        description: oauth.scopes[name]!.description,
      })),
      action: `${interactionPath}/${details.uid}/consent`,
      csrf: csrf.token,
    });
    return send(res, error?.status ?? 200, html, headers);
  }

  async function login(
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
    form: URLSearchParams,
  ): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid || details.prompt.name !== 'login') {
      return send(
        res,
        400,
        renderErrorPage('invalid_request', 'This sign-in is not waiting for a password.'),
      );
    }
    const user = form.get('user') ?? '';
    const verdict = await passwords.check(user, form.get('password') ?? '', req.socket.remoteAddress);
    if (!verdict.ok) {
      if (verdict.status === 429) res.setHeader('retry-after', String(verdict.retryAfterSeconds));
      return showPage(req, res, { status: verdict.status, message: verdict.message }, user);
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user } },
      { mergeWithLastSubmission: false },
    );
  }

  async function consent(
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
    form: URLSearchParams,
  ): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid || details.prompt.name !== 'consent') {
      return send(res, 400, renderErrorPage('invalid_request', 'This sign-in is not waiting for consent.'));
    }
    const params = details.params as Record<string, unknown>;
    const user = details.session?.accountId ?? '';
    const person = oauth.users[user];
    if (form.get('decision') !== 'allow') {
      log.info({ user, client: params.client_id }, 'consent denied');
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The person declined the request.' },
        { mergeWithLastSubmission: false },
      );
    }
    const agent = form.get('agent') ?? '';
    if (person === undefined || !person.agents.includes(agent)) {
      return showPage(req, res, { status: 400, message: 'Choose one of your agents.' });
    }
    const grant = new provider.Grant({ accountId: user, clientId: String(params.client_id) });
    const asked = typeof params.scope === 'string' ? params.scope.split(' ') : [];
    // oidc-provider counts every configured scope as an OpenID one too; its consent check wants them all granted.
    const oidcScopes = asked.filter(
      (s) => s === 'openid' || s === 'offline_access' || Object.hasOwn(oauth.scopes, s),
    );
    if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes.join(' '));
    const resources = Array.isArray(params.resource) ? params.resource : [params.resource];
    for (const resource of resources) {
      if (typeof resource === 'string')
        grant.addResourceScope(resource, requestedScopes(params.scope).join(' '));
    }
    const grantId = await grant.save();
    await store.setGrantAgent(grantId, user, agent);
    log.info({ user, agent, client: params.client_id, grant: grantId }, 'consent given');
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/oauth\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|consent))?$/.exec(url.pathname);
    try {
      if (match === null) return send(res, 404, renderErrorPage('not_found', 'No such page.'));
      const [, uid, step] = match as unknown as [string, string, string | undefined];
      if (req.method === 'GET' && step === undefined) return await showPage(req, res);
      if (req.method !== 'POST' || step === undefined) {
        return send(res, 405, renderErrorPage('method_not_allowed', 'Use the form.'), { allow: 'GET, POST' });
      }
      const form = await readForm(req);
      if (form === undefined) return send(res, 400, renderErrorPage('invalid_request', 'Expected a form.'));
      const refused = checkCsrf({
        secret,
        interactionId: uid,
        cookieValue: readCookie(req.headers.cookie, csrfCookie),
        formToken: form.get('csrf') ?? undefined,
        origin: req.headers.origin,
        secFetchSite: req.headers['sec-fetch-site'],
        expectedOrigin: options.publicOrigin,
      });
      if (refused !== undefined) {
        log.warn({ reason: refused }, 'form refused (CSRF)');
        return send(
          res,
          403,
          renderErrorPage('forbidden', 'This form could not be verified. Go back and try again.'),
        );
      }
      if (step === 'login') return await login(req, res, uid, form);
      return await consent(req, res, uid, form);
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'SessionNotFound' || name === 'InvalidRequest') {
        return send(
          res,
          400,
          renderErrorPage(
            'session_not_found',
            'This sign-in has expired or was opened in another browser. Start again from your client.',
          ),
        );
      }
      log.error({ err: error }, 'interaction failed');
      if (!res.headersSent) send(res, 500, renderErrorPage('server_error', 'Something went wrong.'));
    }
  };
}
