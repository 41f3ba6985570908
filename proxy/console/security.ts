// The console's front gate: security headers on every answer (a strict CSP: scripts and styles only from
// /console/assets, no framing, no referrer, no caching), the session lookup, sign-in required for every page and
// action, and for every POST a same-origin check (Origin, Sec-Fetch-Site) plus the session's CSRF token.
// Refusals are plain pages or JSON with a status, never a redirect that leaks where the user wanted to go.
import { getCookie } from 'hono/cookie';
import type { Context, MiddlewareHandler } from 'hono';
import { sameToken, sessionCookie, type ConsoleSession, type SessionStore } from './sessions.ts';

export type ConsoleEnv = { Variables: { session: ConsoleSession | undefined } };

export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set('content-security-policy', contentSecurityPolicy);
  c.res.headers.set('x-content-type-options', 'nosniff');
  // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` on form posts, which the
  // same-origin check must refuse. Nothing is sent to other sites either way.
  c.res.headers.set('referrer-policy', 'same-origin');
  c.res.headers.set('x-frame-options', 'DENY');
  if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
};

export function loadSession(sessions: SessionStore): MiddlewareHandler<ConsoleEnv> {
  return async function consoleSession(c, next) {
    c.set('session', sessions.get(getCookie(c, sessionCookie)));
    await next();
  };
}

function wantsJson(c: Context): boolean {
  return (c.req.header('accept') ?? '').includes('application/json') || c.req.path.endsWith('.json');
}

export function refuse(c: Context, status: 401 | 403 | 404, message: string): Response {
  if (wantsJson(c) || c.req.header('accept') === 'text/event-stream')
    return c.json({ error: message }, status);
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MCPCP console</title>` +
      `<link rel="stylesheet" href="/console/assets/console.css"></head><body><main class="narrow">` +
      `<h1>${status === 401 ? 'Sign in first' : status === 403 ? 'Refused' : 'Not found'}</h1><p>${escapeText(message)}</p>` +
      `<p><a href="/console/sign-in">Sign in</a></p></main></body></html>`,
    status,
  );
}

function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Sign-in required; `kinds` says who may (default: operators only). */
export function requireSession(
  kinds: readonly ConsoleSession['kind'][] = ['operator'],
): MiddlewareHandler<ConsoleEnv> {
  return async function signedIn(c, next) {
    const session = c.get('session');
    if (session === undefined) return refuse(c, 401, 'This page needs you to sign in.');
    if (!kinds.includes(session.kind)) return refuse(c, 403, 'This page is for operators.');
    await next();
    return undefined;
  };
}

/** The browser says the request came from this very origin (a cross-site form or fetch is refused). */
export function isSameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return site === 'same-origin';
  const host = c.req.header('host');
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

/** Every state-changing request: same origin, and the session's CSRF token in the form or a header. */
export const checkCsrf: MiddlewareHandler<ConsoleEnv> = async function csrf(c, next) {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  // Signing in has no session (so no CSRF token) yet: sign-in.ts checks the origin itself.
  if (c.req.path === '/console/sign-in') return next();
  const session = c.get('session');
  if (!isSameOrigin(c)) return refuse(c, 403, 'Cross-site request refused.');
  if (session === undefined) return refuse(c, 401, 'This action needs you to sign in.');
  let token = c.req.header('x-csrf-token');
  if (token === undefined) {
    const type = c.req.header('content-type') ?? '';
    if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
      const form = await c.req.parseBody();
      token = typeof form._csrf === 'string' ? form._csrf : undefined;
    }
  }
  if (!sameToken(token, session.csrf)) return refuse(c, 403, 'Missing or wrong CSRF token: reload the page.');
  await next();
  return undefined;
};
