// CSRF protection of the sign-in and consent forms: a random cookie (HttpOnly, SameSite=Strict, scoped to the
// interaction path) and a form field that is an HMAC of that cookie and the interaction id, so a form is good
// only in the browser that loaded it and only for that interaction. A cross-site Origin or Sec-Fetch-Site is
// refused as well. Pure functions over headers; it must not read bodies or write responses.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const csrfCookie = 'mcpcp_csrf';

export function newCsrfCookieValue(): string {
  return randomBytes(32).toString('base64url');
}

export function csrfCookieHeader(value: string, options: { path: string; secure: boolean }): string {
  return `${csrfCookie}=${value}; Path=${options.path}; HttpOnly; SameSite=Strict${options.secure ? '; Secure' : ''}`;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

export function csrfToken(secret: string, cookieValue: string, interactionId: string): string {
  return createHmac('sha256', secret).update(`${cookieValue}|${interactionId}`).digest('base64url');
}

/** Why a form post is refused, or undefined when it passes. */
export function checkCsrf(options: {
  secret: string;
  interactionId: string;
  cookieValue: string | undefined;
  formToken: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
  expectedOrigin: string;
}): string | undefined {
  if (
    options.secFetchSite !== undefined &&
    options.secFetchSite !== 'same-origin' &&
    options.secFetchSite !== 'none'
  )
    return 'cross-site form post';
  if (options.origin !== undefined && options.origin !== 'null' && options.origin !== options.expectedOrigin)
    return 'form posted from another origin';
  if (options.cookieValue === undefined || options.cookieValue === '') return 'missing CSRF cookie';
  if (options.formToken === undefined) return 'missing CSRF token';
  const expected = Buffer.from(csrfToken(options.secret, options.cookieValue, options.interactionId));
  const given = Buffer.from(options.formToken);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'CSRF token mismatch';
  return undefined;
}
