// The authorization server's refusals, each on its own: PKCE, codes, redirect URIs, resources, refresh token
// reuse, CSRF on the forms, and sign-in failures. Real proxy, real HTTP, no mocks.
import { decodeJwt } from 'jose';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import {
  approve,
  authorizeUrl,
  Browser,
  formAction,
  formField,
  obtainTokens,
  password,
  pingWith,
  pkce,
  registerClient,
  startDeployment,
  tokenRequest,
  type Deployment,
} from './harness.ts';

let d: Deployment;
const redirectUri = 'http://127.0.0.1:9/cb';
let clientId: string;

beforeAll(async () => {
  d = await startDeployment();
  clientId = await registerClient(d, redirectUri);
});
afterAll(async () => {
  await d?.close();
});

/** Runs an authorization to the redirect back; returns the callback's query. */
async function authorize(
  params: Record<string, string | undefined>,
  agent = 'alice',
): Promise<URLSearchParams> {
  return approve(
    new Browser(),
    authorizeUrl(d, { client_id: clientId, redirect_uri: redirectUri, ...params }),
    d.proxy.url,
    { agent },
  );
}

async function codeFor(challenge: string): Promise<string> {
  const callback = await authorize({ code_challenge: challenge });
  const code = callback.get('code');
  if (code === null) throw new Error(`no code: ${callback.toString()}`);
  return code;
}

function exchange(
  code: string,
  verifier: string | undefined,
  extra: Record<string, string | undefined> = {},
) {
  return tokenRequest(d, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    client_id: clientId,
    code_verifier: verifier,
    resource: d.proxy.urls.resource,
    ...extra,
  });
}

describe('PKCE', () => {
  it('refuses an authorization request without a code challenge', async () => {
    const callback = await authorize({ code_challenge: undefined, code_challenge_method: undefined });
    expect(callback.get('code')).toBeNull();
    expect(callback.get('error')).toBe('invalid_request');
    expect(callback.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses the plain method', async () => {
    const callback = await authorize({ code_challenge: pkce().verifier, code_challenge_method: 'plain' });
    expect(callback.get('code')).toBeNull();
    expect(callback.get('error')).toBe('invalid_request');
  });

  it('refuses a wrong code_verifier', async () => {
    const { challenge } = pkce();
    const code = await codeFor(challenge);
    const { status, body } = await exchange(code, pkce().verifier);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
  });

  it('refuses a token request without a code_verifier', async () => {
    const code = await codeFor(pkce().challenge);
    const { status, body } = await exchange(code, undefined);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
  });
});

describe('authorization codes', () => {
  it('refuses a replayed code and revokes what the first exchange issued', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(challenge);
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    const replay = await exchange(code, verifier);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect((await pingWith(d, String(first.body.access_token))).status).toBe(401);
  });
});

describe('redirect URIs', () => {
  it('refuses a redirect URI the metadata document does not list, without redirecting there', async () => {
    d.serve('/redirects.json', d.document('/redirects.json', 'http://127.0.0.1:9/registered'));
    const response = await new Browser().request(
      authorizeUrl(d, {
        client_id: `${d.docsBase}/redirects.json`,
        redirect_uri: 'http://127.0.0.1:9/elsewhere',
        code_challenge: pkce().challenge,
      }),
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('redirect_uri');
  });

  it('refuses a redirect URI a registered client did not register', async () => {
    const response = await new Browser().request(
      authorizeUrl(d, {
        client_id: clientId,
        redirect_uri: 'http://127.0.0.1:9/other',
        code_challenge: pkce().challenge,
      }),
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });
});

describe('resource indicators', () => {
  it('refuses an authorization request without a resource', async () => {
    const callback = await authorize({ code_challenge: pkce().challenge, resource: undefined });
    expect(callback.get('error')).toBe('invalid_target');
  });

  it('refuses to issue a token for another resource', async () => {
    const callback = await authorize({
      code_challenge: pkce().challenge,
      resource: 'https://other.example/mcp',
    });
    expect(callback.get('code')).toBeNull();
    expect(callback.get('error')).toBe('invalid_target');
  });

  it('refuses a token request without a resource and leaves the code usable', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(challenge);
    const missing = await exchange(code, verifier, { resource: undefined });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_target');
    expect((await exchange(code, verifier)).status).toBe(200);
  });

  it('puts the resource in aud, and the proxy refuses a token issued for another resource', async () => {
    const { access } = await obtainTokens(d);
    expect(decodeJwt(access).aud).toBe(d.proxy.urls.resource);
    const signer = await loadSigner(path.join(d.dir, 'keys'));
    const foreign = await issueAgentToken(signer, {
      issuer: d.proxy.urls.issuer,
      audience: 'https://other.example/mcp',
      agent: 'alice',
      ttlSeconds: 300,
    });
    const { status, challenge } = await pingWith(d, foreign);
    expect(status).toBe(401);
    expect(challenge).toContain('invalid_token');
  });
});

describe('refresh tokens', () => {
  function refresh(token: string, id = clientId) {
    return tokenRequest(d, {
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: id,
      resource: d.proxy.urls.resource,
    });
  }

  it('rotates on every use; reusing an old one kills the whole family', async () => {
    const tokens = await obtainTokens(d);
    const first = await refresh(tokens.refresh, tokens.clientId);
    expect(first.status).toBe(200);
    const second = String(first.body.refresh_token);
    expect(second).not.toBe(tokens.refresh);

    const reuse = await refresh(tokens.refresh, tokens.clientId);
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    // The family died: the newest refresh token and the access tokens of the grant are refused too.
    expect((await refresh(second, tokens.clientId)).body.error).toBe('invalid_grant');
    expect((await pingWith(d, String(first.body.access_token))).status).toBe(401);
    expect((await pingWith(d, tokens.access)).status).toBe(401);
  });

  it('refuses a refresh without a resource, without consuming the refresh token', async () => {
    const tokens = await obtainTokens(d);
    const missing = await tokenRequest(d, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh,
      client_id: tokens.clientId,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_target');
    expect((await refresh(tokens.refresh, tokens.clientId)).status).toBe(200);
  });

  it('stores refresh tokens only as hashes', async () => {
    const tokens = await obtainTokens(d);
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(path.join(d.dir, 'oauth.db'), { readOnly: true });
    try {
      const rows = db.prepare("SELECT id, payload FROM oauth_records WHERE model = 'RefreshToken'").all() as {
        id: string;
        payload: string;
      }[];
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.id).not.toBe(tokens.refresh);
        expect(row.payload).not.toContain(tokens.refresh);
      }
    } finally {
      db.close();
    }
  });
});

describe('the consent form', () => {
  /** Signs in and returns the consent page's HTML, its action URL and the browser. */
  async function consentPage(): Promise<{ browser: Browser; html: string; action: string }> {
    const browser = new Browser();
    const url = authorizeUrl(d, {
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: pkce().challenge,
    });
    let { response } = await browser.follow(url, d.proxy.url);
    const login = await response.text();
    const posted = await browser.postForm(new URL(formAction(login), d.proxy.url).toString(), {
      csrf: formField(login, 'csrf') ?? '',
      user: 'carol',
      password,
    });
    ({ response } = await browser.follow(
      new URL(posted.headers.get('location')!, d.proxy.url).toString(),
      d.proxy.url,
    ));
    const html = await response.text();
    return { browser, html, action: new URL(formAction(html), d.proxy.url).toString() };
  }

  it('refuses a post without the CSRF token', async () => {
    const { browser, action } = await consentPage();
    const response = await browser.postForm(action, { agent: 'alice', decision: 'allow' });
    expect(response.status).toBe(403);
    expect(response.headers.get('location')).toBeNull();
  });

  it('refuses a post from another browser (the token without its cookie)', async () => {
    const { html, action } = await consentPage();
    const attacker = new Browser();
    const response = await attacker.postForm(action, {
      csrf: formField(html, 'csrf')!,
      agent: 'alice',
      decision: 'allow',
    });
    expect(response.status).toBe(403);
  });

  it('refuses a cross-site post even with a valid token', async () => {
    const { browser, html, action } = await consentPage();
    const response = await browser.postForm(
      action,
      { csrf: formField(html, 'csrf')!, agent: 'alice', decision: 'allow' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    );
    expect(response.status).toBe(403);
    // The refused post changed nothing: the real form still works.
    const ok = await browser.postForm(action, {
      csrf: formField(html, 'csrf')!,
      agent: 'alice',
      decision: 'allow',
    });
    expect(ok.status).toBe(303);
  });

  it('refuses an agent the person may not act as', async () => {
    const { browser, html, action } = await consentPage();
    const response = await browser.postForm(action, {
      csrf: formField(html, 'csrf')!,
      agent: 'mallory',
      decision: 'allow',
    });
    expect(response.status).toBe(400);
  });

  it('answers access_denied to the client when the person declines', async () => {
    const { browser, html, action } = await consentPage();
    const posted = await browser.postForm(action, {
      csrf: formField(html, 'csrf')!,
      agent: 'alice',
      decision: 'deny',
    });
    const done = await browser.follow(
      new URL(posted.headers.get('location')!, d.proxy.url).toString(),
      d.proxy.url,
    );
    expect(new URL(done.url).searchParams.get('error')).toBe('access_denied');
  });
});

describe('sign-in', () => {
  // Its own deployment: failed sign-ins are also counted per client address, which every test here shares.
  let own: Deployment;
  let ownClient: string;
  beforeAll(async () => {
    own = await startDeployment();
    ownClient = await registerClient(own, redirectUri);
  });
  afterAll(async () => {
    await own?.close();
  });

  async function loginPage(browser: Browser): Promise<{ html: string; action: string }> {
    const url = authorizeUrl(own, {
      client_id: ownClient,
      redirect_uri: redirectUri,
      code_challenge: pkce().challenge,
    });
    const { response } = await browser.follow(url, own.proxy.url);
    const html = await response.text();
    return { html, action: new URL(formAction(html), own.proxy.url).toString() };
  }

  it('refuses an unknown user exactly like a wrong password', async () => {
    const browser = new Browser();
    const { html, action } = await loginPage(browser);
    const unknown = await browser.postForm(action, {
      csrf: formField(html, 'csrf')!,
      user: 'nobody',
      password,
    });
    const wrong = await browser.postForm(action, {
      csrf: formField(html, 'csrf')!,
      user: 'dave',
      password: 'wrong password',
    });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const message = (text: string) => /<p class="err">([^<]*)<\/p>/.exec(text)?.[1];
    expect(message(await unknown.text())).toBe(message(await wrong.text()));
  });

  it('rate-limits failed sign-ins: after five, even the right password waits', async () => {
    const browser = new Browser();
    const { html, action } = await loginPage(browser);
    const csrf = formField(html, 'csrf')!;
    // Two failures from the test before (an unknown user and dave's wrong password) count for this address.
    for (let i = 0; i < 3; i += 1) {
      const response = await browser.postForm(action, { csrf, user: 'Dave', password: `wrong ${i}` });
      expect(response.status).toBe(401);
    }
    const limited = await browser.postForm(action, { csrf, user: 'dave', password });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('location')).toBeNull();
  });
});
