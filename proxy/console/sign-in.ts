// Signing in and out. The sign-in form takes a token in a POST body (never a URL): an operator token (aud =
// <publicUrl>/console, `mcpcp console token`) opens the whole console; an agent token (aud = <publicUrl>/mcp) opens
// that agent's own channels. Only the verified principal is kept, in a server-side session; the cookie holds a
// random id. A refused token is answered with its error code, never echoed.
import type { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { isMcpcpError } from '../../lib/errors.ts';
import { h, page } from './layout.ts';
import { isSameOrigin, refuse, type ConsoleEnv } from './security.ts';
import { sessionCookie, type SessionStore } from './sessions.ts';
import type { ConsoleOptions } from './types.ts';

function signInForm(problem?: string) {
  return h`${problem === undefined ? '' : h`<p class="flash error" role="alert" id="sign-in-error">${problem}</p>`}
<form method="post" action="/console/sign-in" class="card">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="off" required spellcheck="false">
<p class="muted">Operators: <code>mcpcp console token</code> prints one. Channel members: your own agent token shows your channels.</p>
<p><button type="submit">Sign in</button></p>
</form>`;
}

export function mountSignIn(app: Hono<ConsoleEnv>, options: ConsoleOptions, sessions: SessionStore): void {
  const secure = options.urls.publicUrl.startsWith('https://');
  app.get('/console/sign-in', (c) =>
    c.html(page({ title: 'Sign in', session: c.get('session'), body: signInForm() })),
  );

  app.post('/console/sign-in', async (c) => {
    // No session yet, so no CSRF token: a cross-site sign-in (login CSRF) is stopped by the same-origin check.
    if (!isSameOrigin(c)) return refuse(c, 403, 'Cross-site request refused.');
    const form = await c.req.parseBody();
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    let kind: 'operator' | 'member' = 'operator';
    let principal;
    try {
      principal = await options.operatorVerifier.verify(token);
    } catch (operatorError) {
      try {
        principal = await options.agentVerifier.verify(token);
        kind = 'member';
      } catch {
        const code = isMcpcpError(operatorError) ? operatorError.code : 'ERR_TOKEN_INVALID';
        options.logger.info({ code }, 'console sign-in refused');
        return c.html(
          page({
            title: 'Sign in',
            session: undefined,
            body: signInForm(`That token was refused (${code}).`),
          }),
          401,
        );
      }
    }
    sessions.destroy(getCookie(c, sessionCookie));
    const session = sessions.create(kind, principal);
    setCookie(c, sessionCookie, session.id, {
      path: '/console',
      httpOnly: true,
      sameSite: 'Strict',
      secure,
      expires: new Date(session.expiresAt),
    });
    options.logger.info({ kind, name: session.name }, 'console sign-in');
    return c.redirect(kind === 'operator' ? '/console/fleet' : '/console/channels', 303);
  });

  app.post('/console/sign-out', (c) => {
    sessions.destroy(getCookie(c, sessionCookie));
    deleteCookie(c, sessionCookie, { path: '/console' });
    return c.redirect('/console/sign-in', 303);
  });
}
