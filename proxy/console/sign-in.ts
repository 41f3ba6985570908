// Signing in and out. The sign-in form takes a token in a POST body (never a URL): an operator token (aud =
// <publicUrl>/console, `mcpcp console token`) opens the whole console; an agent token (aud = <publicUrl>/mcp) opens
// that agent's own channels. With OAuth on, a person from `oauth.users` may sign in with their name and password
// instead (the same check and throttle as the authorization server's sign-in page): an operator person opens the
// whole console, anyone opens the channels of one of their agents. Only the verified principal is kept, in a
// server-side session; the cookie holds a random id. A refused token is answered with its error code, never echoed.
import type { HttpBindings } from '@hono/node-server';
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { isMcpcpError } from '../../lib/errors.ts';
import type { Principal } from '../gateway/index.ts';
import type { PasswordVerdict } from '../oauth/passwords.ts';
import { h, page } from './layout.ts';
import { isSameOrigin, refuse, type ConsoleEnv } from './security.ts';
import { sessionCookie, type ConsoleSession, type SessionStore } from './sessions.ts';
import type { ConsoleOptions } from './types.ts';

function signInForm(options: { problem?: string | undefined; people: boolean; user?: string }) {
  const { problem, people } = options;
  return h`${problem === undefined ? '' : h`<p class="flash error" role="alert" id="sign-in-error">${problem}</p>`}
<form method="post" action="/console/sign-in" class="card">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="off" required spellcheck="false">
<p class="muted">Operators: <code>mcpcp console token</code> prints one. Channel members: your own agent token shows your channels.</p>
<p><button type="submit">Sign in</button></p>
</form>
${
  people
    ? h`<form method="post" action="/console/sign-in" class="card">
<h2>Or with your name and password</h2>
<label for="user">Name</label>
<input id="user" name="user" autocomplete="username" required spellcheck="false" value="${options.user ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="agent">Agent (optional)</label>
<input id="agent" name="agent" autocomplete="off" spellcheck="false" aria-describedby="agent-help">
<p class="muted" id="agent-help">Whose channels to show: one of your agents. Left empty, operators get the whole console and others their first agent.</p>
<p><button type="submit">Sign in</button></p>
</form>`
    : ''
}`;
}

/** The principal of a person signed in by password: acting as `agent` (their own name for an operator). */
function personPrincipal(agent: string, user: string, now: number): Principal {
  return Object.freeze({
    agent,
    scopes: [],
    claims: Object.freeze({ sub: agent, mcpcp_user: user, mcpcp_via: 'console' }),
    // The session's own limit (sessions.ts) ends it first.
    expiresAt: Math.floor(now / 1000) + 24 * 3600,
  });
}

/** What a password sign-in opens, or why not. */
function passwordSession(
  verdict: Extract<PasswordVerdict, { ok: true }>,
  asked: string,
  now: number,
): { kind: ConsoleSession['kind']; principal: Principal } | { problem: string } {
  const { user, person } = verdict;
  if (asked === '' && person.operator)
    return { kind: 'operator', principal: personPrincipal(user, user, now) };
  const agent = asked === '' ? person.agents[0]! : asked;
  if (!person.agents.includes(agent))
    return { problem: `Choose one of your agents: ${person.agents.join(', ')}.` };
  return { kind: 'member', principal: personPrincipal(agent, user, now) };
}

export function mountSignIn(app: Hono<ConsoleEnv>, options: ConsoleOptions, sessions: SessionStore): void {
  const secure = options.urls.publicUrl.startsWith('https://');
  const people = options.passwords !== undefined;
  const now = options.now ?? Date.now;
  const formPage = (c: Context<ConsoleEnv>, status: 200 | 400 | 401 | 429, problem?: string, user?: string) =>
    c.html(
      page({
        title: 'Sign in',
        session: status === 200 ? c.get('session') : undefined,
        body: signInForm({ problem, people, ...(user === undefined ? {} : { user }) }),
      }),
      status,
    );

  const open = (c: Context<ConsoleEnv>, kind: ConsoleSession['kind'], principal: Principal, by: string) => {
    sessions.destroy(getCookie(c, sessionCookie));
    const session = sessions.create(kind, principal);
    setCookie(c, sessionCookie, session.id, {
      path: '/console',
      httpOnly: true,
      sameSite: 'Strict',
      secure,
      expires: new Date(session.expiresAt),
    });
    options.logger.info({ kind, name: session.name, by }, 'console sign-in');
    return c.redirect(kind === 'operator' ? '/console/fleet' : '/console/channels', 303);
  };

  app.get('/console/sign-in', (c) => formPage(c, 200));

  app.post('/console/sign-in', async (c) => {
    // No session yet, so no CSRF token: a cross-site sign-in (login CSRF) is stopped by the same-origin check.
    if (!isSameOrigin(c)) return refuse(c, 403, 'Cross-site request refused.');
    const form = await c.req.parseBody();
    const field = (name: string): string => (typeof form[name] === 'string' ? form[name].trim() : '');

    if (typeof form.user === 'string' || typeof form.password === 'string') {
      if (options.passwords === undefined) {
        return formPage(c, 400, 'Sign-in by password needs the OAuth section (oauth.users); use a token.');
      }
      const user = field('user');
      const address = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.remoteAddress;
      const password = typeof form.password === 'string' ? form.password : '';
      const verdict = await options.passwords.check(user, password, address);
      if (!verdict.ok) {
        if (verdict.status === 429) c.header('retry-after', String(verdict.retryAfterSeconds));
        return formPage(c, verdict.status, verdict.message, user);
      }
      const opened = passwordSession(verdict, field('agent'), now());
      if ('problem' in opened) return formPage(c, 400, opened.problem, user);
      return open(c, opened.kind, opened.principal, `password of ${user}`);
    }

    const token = field('token');
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
        return formPage(c, 401, `That token was refused (${code}).`);
      }
    }
    return open(c, kind, principal, 'token');
  });

  app.post('/console/sign-out', (c) => {
    sessions.destroy(getCookie(c, sessionCookie));
    deleteCookie(c, sessionCookie, { path: '/console' });
    return c.redirect('/console/sign-in', 303);
  });
}
