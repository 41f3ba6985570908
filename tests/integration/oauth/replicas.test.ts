// OAuth behind two proxy replicas that share one PostgreSQL store and one key pair, with no sticky sessions: the
// person's browser sends each request to the next replica in turn (as a balancer without affinity may), the code
// is exchanged on one replica and the token used on both, a refresh on one is honoured by the other, and a
// revocation made on one replica is refused at once by the other.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { serviceAvailable } from '../../support/services.ts';
import {
  approve,
  authorizeUrl,
  Browser,
  exchangeCode,
  pingWith,
  pkce,
  registerClient,
  startDeployment,
  tokenRequest,
  type Deployment,
} from './harness.ts';

/** A browser whose requests to the front address go to the next replica in turn. */
class RoundRobinBrowser extends Browser {
  #next = 0;
  readonly #front: string;
  readonly #replicas: readonly Deployment[];
  readonly visited: string[] = [];

  constructor(front: string, replicas: readonly Deployment[]) {
    super();
    this.#front = front;
    this.#replicas = replicas;
  }

  override request(url: string, init: RequestInit = {}): Promise<Response> {
    if (!url.startsWith(this.#front)) return super.request(url, init);
    const replica = this.#replicas[this.#next++ % this.#replicas.length]!;
    this.visited.push(replica.proxy.url);
    return super.request(replica.proxy.url + url.slice(this.#front.length), init);
  }
}

async function revoke(d: Deployment, token: string, clientId: string): Promise<number> {
  const response = await fetch(`${d.proxy.url}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: 'refresh_token', client_id: clientId }).toString(),
  });
  return response.status;
}

describe.runIf(serviceAvailable('postgres'))('OAuth on two proxy replicas sharing a PostgreSQL store', () => {
  let db: TestDatabase;
  let a: Deployment;
  let b: Deployment;
  // The address agents and browsers use (a balancer's); both replicas serve it. Nothing listens there: the test
  // sends each request to a replica itself.
  const front = 'http://127.0.0.1:9';

  beforeAll(async () => {
    db = await createTestDatabase('mcpcp_oauth_replicas');
    const shared = { store: db.url, replicas: 2, publicUrl: front };
    a = await startDeployment(shared);
    // The same folder: the same keys, as every replica mounts them.
    b = await startDeployment({ ...shared, dir: a.dir });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.close();
    await db?.drop();
  });

  it('signs in across both, serves and refreshes on either, and refuses on one what was revoked on the other', async () => {
    const redirectUri = 'http://127.0.0.1:9/cb';
    const clientId = await registerClient(a, redirectUri);
    const { verifier, challenge } = pkce();
    const browser = new RoundRobinBrowser(front, [a, b]);
    const callback = await approve(
      browser,
      authorizeUrl(
        { proxy: { ...a.proxy, url: front } },
        { client_id: clientId, redirect_uri: redirectUri, code_challenge: challenge },
      ),
      front,
      { agent: 'alice' },
    );
    expect(new Set(browser.visited)).toEqual(new Set([a.proxy.url, b.proxy.url]));
    const code = callback.get('code');
    expect(code).toBeTruthy();

    // The code, made on whichever replica took the consent, is exchanged on b; the token works on both.
    const exchange = {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: verifier,
      resource: a.proxy.urls.resource,
    };
    const issued = await tokenRequest(b, exchange);
    expect(issued.status).toBe(200);
    const access = String(issued.body.access_token);
    expect(decodeJwt(access)).toMatchObject({ sub: 'alice', iss: front });
    expect((await pingWith(a, access)).status).toBe(200);
    expect((await pingWith(b, access)).status).toBe(200);

    // Refreshed on a with the refresh token b issued; the new token works on b.
    const refreshed = await tokenRequest(a, {
      grant_type: 'refresh_token',
      refresh_token: String(issued.body.refresh_token),
      client_id: clientId,
      resource: a.proxy.urls.resource,
    });
    expect(refreshed.status).toBe(200);
    const renewed = String(refreshed.body.access_token);
    expect((await pingWith(b, renewed)).status).toBe(200);
    expect((await pingWith(a, renewed)).status).toBe(200);

    // The code replayed on a is refused, and revokes the grant it made: both replicas refuse its tokens.
    expect((await tokenRequest(a, exchange)).status).toBe(400);
    for (const replica of [a, b]) {
      await vi.waitFor(async () => expect((await pingWith(replica, renewed)).status).toBe(401), {
        timeout: 3000,
        interval: 10,
      });
    }

    const second = await obtainSecondGrant(browser, clientId, redirectUri);
    expect((await pingWith(b, second.access)).status).toBe(200);

    // Revoked on b: a, which has served this grant from memory, refuses it within a notification.
    expect(await revoke(b, second.refresh, clientId)).toBe(200);
    await vi.waitFor(async () => expect((await pingWith(a, second.access)).status).toBe(401), {
      timeout: 3000,
      interval: 10,
    });
    expect((await pingWith(b, second.access)).status).toBe(401);
  });

  /** A fresh grant for bob through the round-robin browser, exchanged on a. */
  async function obtainSecondGrant(
    browser: Browser,
    clientId: string,
    redirectUri: string,
  ): Promise<{ access: string; refresh: string }> {
    const { verifier, challenge } = pkce();
    const callback = await approve(
      browser,
      authorizeUrl(
        { proxy: { ...a.proxy, url: front } },
        { client_id: clientId, redirect_uri: redirectUri, code_challenge: challenge, state: 'st-2' },
      ),
      front,
      { agent: 'bob' },
    );
    const { access, refresh } = await exchangeCode(a, { callback, redirectUri, clientId, verifier });
    // Served by a (so a holds the grant in memory) before b revokes it.
    expect((await pingWith(a, access)).status).toBe(200);
    expect((await pingWith(a, access)).status).toBe(200);
    return { access, refresh };
  }
});
