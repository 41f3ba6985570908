// Where the proxy is reachable from outside: the public base URL, the canonical resource (token audience)
// and the issuer, derived from the proxy config and, when it asked for port 0, the port actually bound.
// Pure functions; the only place that knows how these URLs relate.

export interface ProxyUrls {
  /** Origin without trailing slash, e.g. http://127.0.0.1:8080 */
  publicUrl: string;
  /** The canonical resource: publicUrl + '/mcp' (the `aud` every agent token must carry). */
  resource: string;
  /** Token issuer (`iss`); default publicUrl. */
  issuer: string;
  /** RFC 9728 metadata URL of the resource, advertised in WWW-Authenticate. */
  resourceMetadataUrl: string;
}

export interface ProxyUrlInput {
  listen: { host: string; port: number };
  publicUrl?: string | undefined;
  issuer?: string | undefined;
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Replaces an explicit `:0` port (a test asking for any free port) by the bound one. */
function withBoundPort(url: string, boundPort: number | undefined): string {
  if (boundPort === undefined) return url;
  const parsed = new URL(url);
  if (parsed.port !== '0') return url;
  parsed.port = String(boundPort);
  return stripSlash(parsed.toString());
}

/** Resolves the public URLs. `boundPort` is the port the server really listens on (after port 0). */
export function resolveProxyUrls(proxy: ProxyUrlInput, boundPort?: number): ProxyUrls {
  const port = boundPort ?? proxy.listen.port;
  const base =
    proxy.publicUrl === undefined
      ? `http://${hostForUrl(proxy.listen.host)}:${port}`
      : withBoundPort(stripSlash(new URL(proxy.publicUrl).toString()), boundPort);
  const publicUrl = stripSlash(base);
  const issuer = proxy.issuer === undefined ? publicUrl : withBoundPort(proxy.issuer, boundPort);
  const resource = `${publicUrl}/mcp`;
  const origin = new URL(publicUrl);
  const resourceMetadataUrl = `${origin.origin}/.well-known/oauth-protected-resource${new URL(resource).pathname}`;
  return { publicUrl, resource, issuer, resourceMetadataUrl };
}

/**
 * The URL input for a proxy told to listen elsewhere than its config says (`mcpcp up --port/--host`): a public URL
 * the config derived from its own listen address (`http://host:port`) follows the new address, so the token
 * audience and the resource metadata name where the proxy really is; one set by hand stays. The issuer stays as
 * configured: first-party children verify it by name.
 */
export function withListen(proxy: ProxyUrlInput, listen: { host: string; port: number }): ProxyUrlInput {
  const old = proxy.listen;
  const derived = `http://${old.host.includes(':') ? `[${old.host}]` : old.host}:${old.port}`;
  const moved = old.host !== listen.host || old.port !== listen.port;
  const follows = moved && proxy.publicUrl !== undefined && stripSlash(proxy.publicUrl) === derived;
  return { ...proxy, listen, publicUrl: follows ? undefined : proxy.publicUrl };
}
