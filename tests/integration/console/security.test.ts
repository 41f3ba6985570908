// The console's security against a real proxy (startProxy on port 0, a real stdio child, real keys): every page and
// every action is refused without sign-in (and does nothing), CSRF and cross-site posts are refused, no token ever
// appears in a page, a header or a URL, operator and agent tokens do not pass for each other, and the session cookie
// is HttpOnly and SameSite=Strict.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigner } from '../../../auth/keys.ts';
import { consoleAudience, issueOperatorToken } from '../../../auth/operator.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { loadConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { waitFor } from '../proxy/harness.ts';
import { writeKidFleet } from './kid-fleet.ts';

let dir: string;
let proxy: RunningProxy;
let operatorToken: string;
let expiredOperator: string;
let aliceToken: string;

const pages = [
  '/console/fleet',
  '/console/agents',
  '/console/agents/alice',
  '/console/agents/why?agent=alice&name=kid_echo',
  '/console/config',
  '/console/activity',
  '/console/tools',
  '/console/tools/kid/echo',
  '/console/channels',
  '/console/channels/chn_x',
  '/console/channels/chn_x/transcript.json',
  '/console/events/fleet',
  '/console/events/activity',
  '/console/events/channels/chn_x',
];
const actions = ['/console/fleet/kid/restart', '/console/fleet/kid/stop', '/console/tools/kid/echo/approve'];

beforeAll(async () => {
  let file: string;
  ({ dir, file } = await writeKidFleet({ prefix: 'mcpcp-console-sec-', subjects: ['alice'] }));
  proxy = await startProxy({
    config: await loadConfig(file),
    configFile: file,
    dataDir: dir,
    logger: createSilentLogger(),
  });
  const signer = await loadSigner(join(dir, 'keys'));
  const { issuer, publicUrl, resource } = proxy.urls;
  operatorToken = await issueOperatorToken(signer, {
    issuer,
    audience: consoleAudience(publicUrl),
    ttlSeconds: 600,
  });
  expiredOperator = await issueOperatorToken(signer, {
    issuer,
    audience: consoleAudience(publicUrl),
    ttlSeconds: 60,
    now: new Date(Date.now() - 3600_000),
  });
  aliceToken = await issueAgentToken(signer, { issuer, audience: resource, agent: 'alice', ttlSeconds: 600 });
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const origin = () => proxy.url;
const kidPid = () => proxy.gateway.upstreamStates()[0]!.pid;

async function signIn(
  token: string,
): Promise<{ cookie: string; csrf: string; status: number; setCookie: string }> {
  const response = await fetch(`${origin()}/console/sign-in`, {
    method: 'POST',
    headers: { origin: origin(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
    redirect: 'manual',
  });
  const setCookie = response.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  const page = await fetch(`${origin()}/console/channels`, { headers: { cookie } }).then((r) => r.text());
  const csrf = /data-csrf="([^"]+)"/.exec(page)?.[1] ?? '';
  return { cookie, csrf, status: response.status, setCookie };
}

function post(path: string, headers: Record<string, string>, form: Record<string, string> = {}) {
  return fetch(`${origin()}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
    redirect: 'manual',
  });
}

describe('console security', () => {
  it('refuses every page and every action without sign-in, and the action does nothing', async () => {
    await waitFor(() => kidPid() !== undefined);
    const pid = kidPid();
    for (const path of pages) {
      const response = await fetch(`${origin()}${path}`, { redirect: 'manual' });
      expect(response.status, path).toBe(401);
      const body = await response.text();
      expect(body, path).not.toContain('kid_echo');
    }
    for (const path of actions) {
      const response = await post(path, { origin: origin(), 'sec-fetch-site': 'same-origin' });
      expect(response.status, path).toBe(401);
    }
    // A forged cookie is no session either.
    expect(
      (await fetch(`${origin()}/console/fleet`, { headers: { cookie: 'mcpcp_console=forged' } })).status,
    ).toBe(401);
    expect(kidPid()).toBe(pid);
    expect(proxy.gateway.upstreamStates()[0]!.state).toBe('ready');
  });

  it('refuses a POST without the CSRF token, with a wrong one, or from another site', async () => {
    const { cookie, csrf } = await signIn(operatorToken);
    expect(csrf.length).toBeGreaterThan(20);
    const pid = kidPid();
    const sameSite = { cookie, origin: origin(), 'sec-fetch-site': 'same-origin' };
    expect((await post('/console/fleet/kid/restart', sameSite)).status).toBe(403);
    expect((await post('/console/fleet/kid/restart', sameSite, { _csrf: `${csrf}x` })).status).toBe(403);
    expect(
      (
        await post(
          '/console/fleet/kid/restart',
          { ...sameSite, origin: 'http://evil.example' },
          { _csrf: csrf },
        )
      ).status,
    ).toBe(403);
    expect(
      (
        await post(
          '/console/fleet/kid/restart',
          { ...sameSite, 'sec-fetch-site': 'cross-site' },
          { _csrf: csrf },
        )
      ).status,
    ).toBe(403);
    expect(
      (await post('/console/fleet/kid/restart', { ...sameSite, origin: 'null' }, { _csrf: csrf })).status,
    ).toBe(403);
    expect(kidPid()).toBe(pid);
    // Cross-site sign-in (login CSRF) too.
    const crossSignIn = await fetch(`${origin()}/console/sign-in`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: operatorToken }),
      redirect: 'manual',
    });
    expect(crossSignIn.status).toBe(403);
    expect(crossSignIn.headers.get('set-cookie')).toBeNull();
    // The same request with the token goes through: the refusals above were the CSRF checks.
    const done = await post('/console/fleet/kid/restart', sameSite, { _csrf: csrf });
    expect(done.status).toBe(303);
    await waitFor(
      () =>
        kidPid() !== undefined && kidPid() !== pid && proxy.gateway.upstreamStates()[0]!.state === 'ready',
      20_000,
    );
  });

  it('never puts a token in a page, a header or a URL, and keeps the session cookie from scripts', async () => {
    const { cookie, setCookie, status } = await signIn(operatorToken);
    expect(status).toBe(303);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\/console/);
    expect(setCookie).not.toContain(operatorToken.split('.')[2]!);
    const signature = operatorToken.split('.')[2]!;
    for (const path of pages.filter((p) => !p.includes('/events/'))) {
      const response = await fetch(`${origin()}${path}`, { headers: { cookie }, redirect: 'manual' });
      const text = await response.text();
      for (const secret of [operatorToken, signature, aliceToken, aliceToken.split('.')[2]!]) {
        expect(text, path).not.toContain(secret);
        expect(JSON.stringify([...response.headers]), path).not.toContain(secret);
      }
      expect(response.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(response.headers.get('cache-control'), path).toBe('no-store');
    }
    // A token in the URL signs nobody in.
    const viaUrl = await fetch(`${origin()}/console/sign-in?token=${operatorToken}`, { redirect: 'manual' });
    expect(viaUrl.headers.get('set-cookie')).toBeNull();
  });

  it('keeps operator and agent tokens apart; an expired operator token is refused', async () => {
    // An agent token signs in as a member only: no operator page.
    const member = await signIn(aliceToken);
    expect(member.status).toBe(303);
    expect((await fetch(`${origin()}/console/fleet`, { headers: { cookie: member.cookie } })).status).toBe(
      403,
    );
    expect((await fetch(`${origin()}/console/tools`, { headers: { cookie: member.cookie } })).status).toBe(
      403,
    );
    const memberPost = await post(
      '/console/fleet/kid/stop',
      { cookie: member.cookie, origin: origin(), 'sec-fetch-site': 'same-origin' },
      { _csrf: member.csrf },
    );
    expect(memberPost.status).toBe(403);
    // An operator token is no agent token at /mcp.
    const mcp = await fetch(`${origin()}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${operatorToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(mcp.status).toBe(401);
    const expired = await signIn(expiredOperator);
    expect(expired.status).toBe(401);
    expect(expired.setCookie).toBe('');
  });

  it('has no password sign-in without the OAuth section', async () => {
    const html = await (await fetch(`${origin()}/console/sign-in`)).text();
    expect(html).not.toContain('name="password"');
    const attempt = await post(
      '/console/sign-in',
      { origin: origin() },
      { user: 'operator', password: 'guess' },
    );
    expect(attempt.status).toBe(400);
    expect(attempt.headers.get('set-cookie')).toBeNull();
    expect(await attempt.text()).toContain('needs the OAuth section');
  });

  it('signing out ends the session', async () => {
    const { cookie, csrf } = await signIn(operatorToken);
    expect((await fetch(`${origin()}/console/fleet`, { headers: { cookie } })).status).toBe(200);
    const out = await post(
      '/console/sign-out',
      { cookie, origin: origin(), 'sec-fetch-site': 'same-origin' },
      { _csrf: csrf },
    );
    expect(out.status).toBe(303);
    expect((await fetch(`${origin()}/console/fleet`, { headers: { cookie } })).status).toBe(401);
  });
});
