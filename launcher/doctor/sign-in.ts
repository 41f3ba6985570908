// Drives MCPCP's own sign-in and consent pages over plain HTTP, the way a person's browser would: cookies
// kept, forms posted with their CSRF token, redirects on the server's origin followed, and the final
// redirect back to the client returned (its query holds code, state and iss, or error). For `mcpcp doctor`.
// It must not follow a redirect off the server's origin.

export class CookieSession {
  readonly #cookies = new Map<string, string>();
  readonly #fetch: typeof fetch;
  constructor(fetchFn: typeof fetch = fetch) {
    this.#fetch = fetchFn;
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0)
      headers.set('cookie', [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await this.#fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      if (at > 0) this.#cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1));
    }
    return response;
  }
}

function field(html: string, name: string): string {
  return new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';
}

function action(html: string, origin: string): string {
  const found = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (found === undefined) throw new Error('the page has no form (is this an MCPCP authorization server?)');
  return new URL(
    found.replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c))),
    origin,
  ).toString();
}

async function follow(
  session: CookieSession,
  url: string,
  origin: string,
): Promise<{ url: string; html: string }> {
  let current = url;
  for (let hops = 0; hops < 10; hops += 1) {
    const response = await session.request(current);
    const location = response.headers.get('location');
    if (location === null) return { url: current, html: await response.text() };
    await response.body?.cancel();
    const next = new URL(location, current).toString();
    if (new URL(next).origin !== origin) return { url: next, html: '' };
    current = next;
  }
  throw new Error('too many redirects');
}

function postForm(session: CookieSession, url: string, fields: Record<string, string>): Promise<Response> {
  return session.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

/** From the authorization URL to the redirect back to the client; throws with the page's message on a refusal. */
export async function signInAndConsent(
  authorizationUrl: string,
  who: { user: string; password: string; agent: string },
  fetchFn: typeof fetch = fetch,
): Promise<URLSearchParams> {
  const origin = new URL(authorizationUrl).origin;
  const session = new CookieSession(fetchFn);
  let page = await follow(session, authorizationUrl, origin);
  const errorOf = (html: string) =>
    /<p class="err">([^<]*)<\/p>|<p><code>([^<]*)<\/code><\/p><p>([^<]*)</.exec(html);
  for (let step = 0; step < 3; step += 1) {
    if (new URL(page.url).origin !== origin) return new URL(page.url).searchParams;
    const fields: Record<string, string> = page.html.includes('name="password"')
      ? { csrf: field(page.html, 'csrf'), user: who.user, password: who.password }
      : page.html.includes('name="agent"')
        ? { csrf: field(page.html, 'csrf'), agent: who.agent, decision: 'allow' }
        : {};
    if (Object.keys(fields).length === 0) {
      const found = errorOf(page.html);
      throw new Error(
        `the authorization server refused: ${found?.slice(1).filter(Boolean).join(': ') ?? page.html.slice(0, 200)}`,
      );
    }
    const posted = await postForm(session, action(page.html, origin), fields);
    const location = posted.headers.get('location');
    if (location === null) {
      const found = errorOf(await posted.text());
      throw new Error(
        `HTTP ${posted.status}: ${found?.slice(1).filter(Boolean).join(': ') ?? 'no redirect'}`,
      );
    }
    page = await follow(session, new URL(location, origin).toString(), origin);
  }
  throw new Error('the sign-in did not finish');
}
