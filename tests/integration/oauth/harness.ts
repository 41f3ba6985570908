// A real deployment for the OAuth tests: fresh RS256 keys, the proxy (with its authorization server) on port 0
// in front of two stdio test children, a person who may act as two agents, and an HTTPS server on loopback
// with its own self-signed certificate that serves client metadata documents (and misbehaves on request).
// Also a minimal "browser" (cookies, no redirects followed by itself) that signs in and answers the consent
// page over HTTP, and an OAuthClientProvider for the SDK's own OAuth support.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type OAuthClientProvider,
} from '@modelcontextprotocol/client';
import selfsigned from 'selfsigned';
import { generateKeyPair } from '../../../auth/keys.ts';
import { hashPassword } from '../../../auth/password.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { childServer } from '../proxy/harness.ts';

export const password = 'correct horse battery staple';
/** Cheap scrypt parameters, so the tests do not spend seconds per sign-in. */
const testScrypt = { N: 1024, r: 8, p: 1 };

type Route = (req: IncomingMessage, res: ServerResponse, base: string) => void;

export interface Deployment {
  proxy: RunningProxy;
  dir: string;
  /** https://127.0.0.1:PORT of the metadata document server. */
  docsBase: string;
  /** Serves `body` (an object is sent as JSON) at `path` on the document server. */
  serve(path: string, route: Route | Record<string, unknown>): void;
  /** A client metadata document for `path` on the document server, redirecting to `redirectUri`. */
  document(path: string, redirectUri: string, extra?: Record<string, unknown>): Record<string, unknown>;
  /** Stops the proxy and the document server, keeping the folder. */
  stop(): Promise<void>;
  /** Stops, and removes the folder unless it was given. */
  close(): Promise<void>;
}

export interface DeploymentOptions {
  /** Replaces parts of the `oauth:` section (YAML lines, indented by 2). */
  oauthYaml?: string;
  /** Reuse a folder (a restart keeps keys and the store). */
  dir?: string;
  /** proxy.publicUrl (e.g. a test's own front server); default the listen address. */
  publicUrl?: string;
  /** The port to listen on (a restart keeps its URL); default any. */
  port?: number;
  /** The development setting that lets metadata documents come from loopback (default on). */
  loopbackDocuments?: boolean;
  /** oauth.store (default oauth.db in the folder), e.g. a postgres:// address shared by replicas. */
  store?: string;
  /** proxy.replicas (default 1). */
  replicas?: number;
}

export async function startDeployment(options: DeploymentOptions = {}): Promise<Deployment> {
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'mcpcp-oauth-')));
  if (options.dir === undefined) await generateKeyPair(path.join(dir, 'keys'));
  const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  await writeFile(path.join(dir, 'docs-ca.pem'), pems.cert);
  const routes = new Map<string, Route>();
  const docs: Server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const route = routes.get((req.url ?? '/').split('?')[0]!);
    if (route === undefined) return void res.writeHead(404).end();
    route(req, res, docsBase);
  });
  await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
  const docsBase = `https://127.0.0.1:${(docs.address() as AddressInfo).port}`;
  const hash = await hashPassword(password, testScrypt);
  const yaml = `proxy:
  listen: { host: 127.0.0.1, port: ${options.port ?? 0} }
  keysDir: keys
  replicas: ${options.replicas ?? 1}
${options.publicUrl === undefined ? '' : `  publicUrl: ${options.publicUrl}\n`}servers:
${childServer('alpha')}
${childServer('beta')}
agents:
  alice: {}
  bob: {}
policy:
  rules:
    - id: alice-alpha
      subjects: [alice]
      servers: [alpha]
      allow: ['alpha_echo', 'alpha_add']
    - id: bob-beta
      subjects: [bob]
      servers: [beta]
      allow: ['beta_*']
oauth:
  store: "${options.store ?? 'oauth.db'}"
  users:
    carol:
      passwordHash: "${hash}"
      agents: [alice, bob]
    dave:
      passwordHash: "${hash}"
      agents: [bob]
  development:
    allowLoopbackClientIds: ${options.loopbackDocuments ?? true}
    trustedCaFile: docs-ca.pem
${options.oauthYaml ?? ''}`;
  await writeFile(path.join(dir, 'mcpcp.yaml'), yaml);
  const config = parseConfig(yaml, path.join(dir, 'mcpcp.yaml'));
  const proxy = await startProxy({ config, logger: createSilentLogger(), closeTimeoutMs: 500 });
  const deployment: Deployment = {
    proxy,
    dir,
    docsBase,
    serve(p, route) {
      routes.set(
        p,
        typeof route === 'function'
          ? route
          : (_req, res) => {
              const body = JSON.stringify(route);
              res
                .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' })
                .end(body);
            },
      );
    },
    document(p, redirectUri, extra = {}) {
      return {
        client_id: `${docsBase}${p}`,
        client_name: 'Test Client',
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        ...extra,
      };
    },
    async stop() {
      await proxy.close();
      docs.closeAllConnections();
      await new Promise<void>((resolve) => docs.close(() => resolve()));
    },
    async close() {
      await deployment.stop();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
  return deployment;
}

/** A cookie jar over fetch that never follows redirects by itself. */
export class Browser {
  readonly cookies = new Map<string, string>();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, ...value] = pair!.split('=');
      const joined = value.join('=');
      if (/expires=Thu, 01 Jan 1970/i.test(line) || joined === '') this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), joined);
    }
    return response;
  }

  /** Follows redirects on `origin` (the proxy) until a page is shown or the browser is sent elsewhere. */
  async follow(url: string, origin: string): Promise<{ url: string; response: Response }> {
    let current = url;
    for (let hops = 0; hops < 10; hops += 1) {
      const response = await this.request(current);
      const location = response.headers.get('location');
      if (location === null) return { url: current, response };
      const next = new URL(location, current).toString();
      if (!next.startsWith(origin)) return { url: next, response };
      current = next;
    }
    throw new Error('too many redirects');
  }

  async postForm(
    url: string,
    fields: Record<string, string>,
    extraHeaders: Record<string, string> = {},
  ): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...extraHeaders },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

/** The value of a hidden or text field, and a form's action, from a page. */
export function formField(html: string, name: string): string | undefined {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
}
export function formAction(html: string): string {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (action === undefined) throw new Error(`no form on the page: ${html.slice(0, 300)}`);
  return action;
}

/**
 * Signs in and answers the consent page: from the authorization URL to the redirect back to the client,
 * whose query (code, state, iss, or error) is returned.
 */
export async function approve(
  browser: Browser,
  authorizationUrl: string,
  origin: string,
  choice: { user?: string; password?: string; agent: string; decision?: 'allow' | 'deny' },
): Promise<URLSearchParams> {
  let { url, response } = await browser.follow(authorizationUrl, origin);
  if (!url.startsWith(origin)) return new URL(url).searchParams;
  let html = await response.text();
  if (html.includes('name="password"')) {
    const posted = await browser.postForm(new URL(formAction(html), origin).toString(), {
      csrf: formField(html, 'csrf') ?? '',
      user: choice.user ?? 'carol',
      password: choice.password ?? password,
    });
    const location = posted.headers.get('location');
    if (location === null)
      throw new Error(`sign-in failed (${posted.status}): ${(await posted.text()).slice(0, 400)}`);
    ({ url, response } = await browser.follow(new URL(location, origin).toString(), origin));
    if (!url.startsWith(origin)) return new URL(url).searchParams;
    html = await response.text();
  }
  const posted = await browser.postForm(new URL(formAction(html), origin).toString(), {
    csrf: formField(html, 'csrf') ?? '',
    agent: choice.agent,
    decision: choice.decision ?? 'allow',
  });
  const location = posted.headers.get('location');
  if (location === null)
    throw new Error(`consent failed (${posted.status}): ${(await posted.text()).slice(0, 400)}`);
  const done = await browser.follow(new URL(location, origin).toString(), origin);
  return new URL(done.url).searchParams;
}

/** The SDK's OAuth client provider, in memory; the authorization URL is kept for the test's browser. */
export class TestOAuthProvider implements OAuthClientProvider {
  clientMetadataUrl?: string;
  authorizationUrl: URL | undefined;
  #client: { client_id: string; client_secret?: string } | undefined;
  #tokens: { access_token: string; token_type: string; refresh_token?: string; scope?: string } | undefined;
  #verifier = '';
  readonly redirectUrl: string;
  readonly #scope: string | undefined;

  constructor(options: { redirectUrl: string; clientMetadataUrl?: string; scope?: string }) {
    this.redirectUrl = options.redirectUrl;
    if (options.clientMetadataUrl !== undefined) this.clientMetadataUrl = options.clientMetadataUrl;
    this.#scope = options.scope;
  }

  get clientMetadata() {
    return {
      client_name: 'SDK Test Client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      ...(this.#scope === undefined ? {} : { scope: this.#scope }),
    };
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: { client_id: string }) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: NonNullable<TestOAuthProvider['tokens'] extends () => infer T ? T : never>) {
    this.#tokens = tokens;
  }
  /** Test hook: replaces the stored access token (e.g. with a broken one, to make the SDK refresh). */
  setAccessToken(value: string) {
    if (this.#tokens !== undefined) this.#tokens = { ...this.#tokens, access_token: value };
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'discovery') this.#discovery = undefined;
  }
  #discovery: unknown;
  saveDiscoveryState(state: unknown) {
    this.#discovery = state;
  }
  discoveryState() {
    return this.#discovery as never;
  }
}

/**
 * The whole SDK flow: connect (401 → discovery → registration or CIMD → authorization URL), the browser signs
 * in and consents, finishAuth, connect again. Returns the connected client.
 */
export async function connectWithOAuth(
  mcpUrl: string,
  provider: TestOAuthProvider,
  choice: { agent: string; user?: string },
  era: 'legacy' | 'modern',
  browser = new Browser(),
): Promise<{ client: Client; transport: StreamableHTTPClientTransport; callback: URLSearchParams }> {
  const origin = new URL(mcpUrl).origin;
  const clientOptions =
    era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' as const } } } : {};
  const first = new Client({ name: 'oauth-test', version: '1.0.0' }, clientOptions);
  const firstTransport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await first.connect(firstTransport).then(
    () => {
      throw new Error('connected without authorization');
    },
    (error: unknown) => {
      if (!(error instanceof UnauthorizedError)) throw error;
    },
  );
  if (provider.authorizationUrl === undefined) throw new Error('the SDK did not start an authorization');
  const callback = await approve(browser, provider.authorizationUrl.toString(), origin, choice);
  await firstTransport.finishAuth(callback);
  await first.close().catch(() => undefined);
  const client = new Client({ name: 'oauth-test', version: '1.0.0' }, clientOptions);
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  await client.connect(transport);
  return { client, transport, callback };
}

/** A PKCE pair (RFC 7636, S256). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Registers a public client by DCR; returns its client_id. */
export async function registerClient(
  d: Pick<Deployment, 'proxy'>,
  redirectUri: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const response = await fetch(`${d.proxy.url}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Raw Client',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...extra,
    }),
  });
  const body = (await response.json()) as { client_id?: string };
  if (response.status !== 201 || body.client_id === undefined) {
    throw new Error(`registration failed: ${response.status} ${JSON.stringify(body)}`);
  }
  return body.client_id;
}

/** An authorization request URL; pass `undefined` to leave a parameter out. */
export function authorizeUrl(
  d: Pick<Deployment, 'proxy'>,
  params: Record<string, string | undefined>,
): string {
  const url = new URL(`${d.proxy.url}/oauth/authorize`);
  const defaults: Record<string, string | undefined> = {
    response_type: 'code',
    scope: 'mcp',
    state: 'st-1',
    resource: d.proxy.urls.resource,
    code_challenge_method: 'S256',
  };
  for (const [key, value] of Object.entries({ ...defaults, ...params })) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  return url.toString();
}

/** POST /oauth/token with form fields; returns status and JSON body. */
export async function tokenRequest(
  d: Pick<Deployment, 'proxy'>,
  fields: Record<string, string | undefined>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) form.set(key, value);
  const response = await fetch(`${d.proxy.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Registers by DCR, signs in, consents and exchanges the code: a fresh token set for `agent`. */
export async function obtainTokens(
  d: Pick<Deployment, 'proxy'>,
  agent = 'alice',
): Promise<{ clientId: string; access: string; refresh: string }> {
  const redirectUri = 'http://127.0.0.1:9/cb';
  const clientId = await registerClient(d, redirectUri);
  const { verifier, challenge } = pkce();
  const callback = await approve(
    new Browser(),
    authorizeUrl(d, { client_id: clientId, redirect_uri: redirectUri, code_challenge: challenge }),
    d.proxy.url,
    { agent },
  );
  return { clientId, ...(await exchangeCode(d, { callback, redirectUri, clientId, verifier })) };
}

/** Exchanges the code of an authorization callback on `d`; throws unless it is answered with tokens. */
export async function exchangeCode(
  d: Pick<Deployment, 'proxy'>,
  grant: { callback: URLSearchParams; redirectUri: string; clientId: string; verifier: string },
): Promise<{ access: string; refresh: string }> {
  const { status, body } = await tokenRequest(d, {
    grant_type: 'authorization_code',
    code: grant.callback.get('code') ?? '',
    redirect_uri: grant.redirectUri,
    client_id: grant.clientId,
    code_verifier: grant.verifier,
    resource: d.proxy.urls.resource,
  });
  if (status !== 200) throw new Error(`token request failed: ${status} ${JSON.stringify(body)}`);
  return { access: String(body.access_token), refresh: String(body.refresh_token) };
}

/** A raw request (default: initialize) to /mcp with a Bearer token: the HTTP status and WWW-Authenticate. */
export async function pingWith(
  d: Pick<Deployment, 'proxy'>,
  token: string,
  body: unknown = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  },
): Promise<{ status: number; challenge: string | null; text: string }> {
  const response = await fetch(d.proxy.mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    text: await response.text(),
  };
}
