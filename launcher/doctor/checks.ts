// `mcpcp doctor`'s static checks: what claude.ai, ChatGPT and the MCP Inspector look at before they let a
// person sign in. The 401 challenge and its resource_metadata, both protected-resource well-knowns, the
// resource naming the URL, the authorization server's metadata and issuer, S256, CIMD and DCR, HTTPS, CORS.
// Each check says what it saw and how to fix a miss. It must not sign in (launcher/doctor/flow.ts does).
import type { CheckResult } from './report.ts';

export interface Discovery {
  resourceMetadata?: Record<string, unknown>;
  authorizationServer?: string;
  asMetadata?: Record<string, unknown>;
}

const browserOrigin = 'https://inspector.example';

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\./.test(hostname);
}

async function getJson(
  url: string,
  fetchFn: typeof fetch,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> | undefined; headers: Headers }> {
  try {
    const response = await fetchFn(url, {
      headers: { accept: 'application/json', ...headers },
      redirect: 'manual',
    });
    let body: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = await response.json();
      body = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      body = undefined;
    }
    return { status: response.status, body, headers: response.headers };
  } catch {
    return { status: 0, body: undefined, headers: new Headers() };
  }
}

/** RFC 8414 §3.1: the well-known path goes between the host and the issuer's path. */
export function asMetadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const suffix = url.pathname === '/' ? '' : stripSlash(url.pathname);
  return `${url.origin}/.well-known/oauth-authorization-server${suffix}`;
}

export async function runStaticChecks(
  target: string,
  fetchFn: typeof fetch = fetch,
): Promise<{ checks: CheckResult[]; discovery: Discovery }> {
  const checks: CheckResult[] = [];
  const discovery: Discovery = {};
  const url = new URL(target);
  const add = (result: CheckResult): void => void checks.push(result);

  // HTTPS: claude.ai and ChatGPT connect from their servers to a public https URL.
  if (url.protocol === 'https:') add({ id: 'https', title: 'served over HTTPS', status: 'pass' });
  else
    add({
      id: 'https',
      title: 'served over HTTPS',
      status: 'warn',
      detail: isLoopback(url.hostname)
        ? 'http on loopback: fine for local clients and tests only'
        : `${url.origin} is plain http`,
      fix: 'put the proxy behind TLS (a reverse proxy or tunnel) and set proxy.publicUrl to the https URL',
    });

  // 1. The challenge.
  let challenge: string | null = null;
  try {
    const response = await fetchFn(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'mcpcp-doctor', version: '1' },
        },
      }),
    });
    challenge = response.status === 401 ? response.headers.get('www-authenticate') : null;
    add(
      response.status === 401 && challenge !== null && /^Bearer\b/i.test(challenge)
        ? { id: 'challenge', title: '401 with a Bearer challenge without a token', status: 'pass' }
        : {
            id: 'challenge',
            title: '401 with a Bearer challenge without a token',
            status: 'fail',
            detail: `got HTTP ${response.status}${challenge === null ? ', no WWW-Authenticate' : ''}`,
            fix: 'require a token on /mcp: clients discover the authorization server only from a 401',
          },
    );
  } catch (error) {
    add({
      id: 'challenge',
      title: '401 with a Bearer challenge without a token',
      status: 'fail',
      detail: `cannot reach ${target}: ${error instanceof Error ? error.message : String(error)}`,
      fix: 'check the URL, that the proxy runs, and that this machine can reach it',
    });
  }
  const metadataParam = challenge === null ? undefined : /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
  add(
    metadataParam !== undefined
      ? { id: 'challenge-metadata', title: 'the challenge names resource_metadata', status: 'pass' }
      : {
          id: 'challenge-metadata',
          title: 'the challenge names resource_metadata',
          status: 'fail',
          detail: challenge === null ? 'no challenge' : `challenge: ${challenge}`,
          fix: 'answer 401 with WWW-Authenticate: Bearer resource_metadata="<origin>/.well-known/oauth-protected-resource<path>"',
        },
  );

  // 2. Both protected-resource well-knowns (RFC 9728: path-suffixed, and the root form older clients use).
  const suffixed = `${url.origin}/.well-known/oauth-protected-resource${url.pathname === '/' ? '' : stripSlash(url.pathname)}`;
  const root = `${url.origin}/.well-known/oauth-protected-resource`;
  for (const [id, where] of [
    ['prm-path', suffixed],
    ['prm-root', root],
  ] as const) {
    const got = await getJson(where, fetchFn);
    const ok = got.status === 200 && got.body !== undefined && Array.isArray(got.body.authorization_servers);
    add(
      ok
        ? { id, title: `protected-resource metadata at ${new URL(where).pathname}`, status: 'pass' }
        : {
            id,
            title: `protected-resource metadata at ${new URL(where).pathname}`,
            status: 'fail',
            detail: `HTTP ${got.status}${got.body === undefined ? ', not JSON' : ', no authorization_servers'}`,
            fix: `serve RFC 9728 metadata (resource, authorization_servers) at ${where}`,
          },
    );
    if (ok && discovery.resourceMetadata === undefined) discovery.resourceMetadata = got.body;
    if (id === 'prm-path' && got.status === 200) {
      add(
        got.headers.get('access-control-allow-origin') !== null ||
          (await getJson(where, fetchFn, { origin: browserOrigin })).headers.get(
            'access-control-allow-origin',
          ) !== null
          ? { id: 'cors', title: 'CORS on the metadata for browser clients', status: 'pass' }
          : {
              id: 'cors',
              title: 'CORS on the metadata for browser clients',
              status: 'warn',
              detail: 'no Access-Control-Allow-Origin on the protected-resource metadata',
              fix: 'browser-based clients (the MCP Inspector) need CORS on the well-knowns and the token endpoint',
            },
      );
    }
  }

  const prm = discovery.resourceMetadata;
  const resource = typeof prm?.resource === 'string' ? prm.resource : undefined;
  add(
    resource !== undefined && stripSlash(resource) === stripSlash(target)
      ? { id: 'resource', title: 'the metadata resource is this URL', status: 'pass' }
      : {
          id: 'resource',
          title: 'the metadata resource is this URL',
          status: 'fail',
          detail: `resource is ${resource ?? 'missing'}, expected ${target}`,
          fix: 'set proxy.publicUrl to the public origin clients use; the resource (and token audience) is publicUrl + /mcp',
        },
  );

  // 3. The authorization server's metadata.
  const servers = Array.isArray(prm?.authorization_servers) ? (prm.authorization_servers as unknown[]) : [];
  const issuer = typeof servers[0] === 'string' ? servers[0] : undefined;
  discovery.authorizationServer = issuer;
  const asGot = issuer === undefined ? undefined : await getJson(asMetadataUrl(issuer), fetchFn);
  const asMeta = asGot?.status === 200 ? asGot.body : undefined;
  discovery.asMetadata = asMeta;
  add(
    asMeta !== undefined
      ? { id: 'as-metadata', title: 'authorization server metadata (RFC 8414)', status: 'pass' }
      : {
          id: 'as-metadata',
          title: 'authorization server metadata (RFC 8414)',
          status: 'fail',
          detail:
            issuer === undefined
              ? 'no authorization server named'
              : `HTTP ${asGot?.status ?? 0} at ${asMetadataUrl(issuer)}`,
          fix: 'enable the oauth section of the config (the built-in authorization server), or name a working one',
        },
  );
  add(
    asMeta !== undefined && issuer !== undefined && asMeta.issuer === issuer
      ? { id: 'issuer', title: 'the metadata issuer is the URL it was found at', status: 'pass' }
      : {
          id: 'issuer',
          title: 'the metadata issuer is the URL it was found at',
          status: 'fail',
          detail: `issuer is ${typeof asMeta?.issuer === 'string' ? asMeta.issuer : 'missing'}, expected ${issuer ?? '?'}`,
          fix: 'the issuer must equal proxy.publicUrl exactly (scheme, host, port, no trailing slash)',
        },
  );
  const methods = Array.isArray(asMeta?.code_challenge_methods_supported)
    ? asMeta.code_challenge_methods_supported
    : [];
  add(
    methods.includes('S256')
      ? { id: 'pkce', title: 'PKCE S256 supported', status: 'pass' }
      : {
          id: 'pkce',
          title: 'PKCE S256 supported',
          status: 'fail',
          detail: `code_challenge_methods_supported: ${JSON.stringify(methods)}`,
          fix: 'MCP clients refuse an authorization server that does not advertise S256',
        },
  );
  const cimd = asMeta?.client_id_metadata_document_supported === true;
  const dcr = typeof asMeta?.registration_endpoint === 'string';
  add(
    cimd
      ? { id: 'cimd', title: 'Client ID Metadata Documents supported', status: 'pass' }
      : {
          id: 'cimd',
          title: 'Client ID Metadata Documents supported',
          status: dcr ? 'warn' : 'fail',
          detail: 'client_id_metadata_document_supported is not true',
          fix: 'set oauth.clients.metadataDocuments: true (current clients register this way)',
        },
  );
  add(
    dcr
      ? { id: 'dcr', title: 'Dynamic Client Registration offered', status: 'pass' }
      : {
          id: 'dcr',
          title: 'Dynamic Client Registration offered',
          status: cimd ? 'warn' : 'fail',
          detail: 'no registration_endpoint',
          fix: 'set oauth.clients.registration: true (older clients register this way)',
        },
  );
  const tokenEndpoint = typeof asMeta?.token_endpoint === 'string' ? asMeta.token_endpoint : undefined;
  if (tokenEndpoint !== undefined) {
    let allowed: string | null;
    try {
      const preflight = await fetchFn(tokenEndpoint, {
        method: 'OPTIONS',
        headers: { origin: browserOrigin, 'access-control-request-method': 'POST' },
      });
      allowed = preflight.headers.get('access-control-allow-origin');
    } catch {
      allowed = null;
    }
    add(
      allowed !== null
        ? { id: 'token-cors', title: 'CORS on the token endpoint for browser clients', status: 'pass' }
        : {
            id: 'token-cors',
            title: 'CORS on the token endpoint for browser clients',
            status: 'warn',
            detail: 'the preflight got no Access-Control-Allow-Origin',
            fix: 'browser-based clients exchange codes from the page: allow CORS on the token endpoint',
          },
    );
  }
  return { checks, discovery };
}
