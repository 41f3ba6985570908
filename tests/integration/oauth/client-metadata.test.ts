// Client ID Metadata Documents as the authorization server fetches them: refused targets (loopback without
// the development setting, the cloud metadata address, redirects, huge and slow documents, a client_id that
// is not the document's URL), the HTTP cache, and what the consent page shows about the client.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approve,
  authorizeUrl,
  Browser,
  formAction,
  formField,
  password,
  pkce,
  startDeployment,
  type Deployment,
} from './harness.ts';

const redirectUri = 'http://127.0.0.1:9/cb';

/** The authorization endpoint's answer for a client whose client_id is `clientId`. */
async function authorizeAs(d: Deployment, clientId: string): Promise<{ status: number; text: string }> {
  const response = await new Browser().request(
    authorizeUrl(d, { client_id: clientId, redirect_uri: redirectUri, code_challenge: pkce().challenge }),
  );
  return { status: response.status, text: await response.text() };
}

describe('with loopback documents allowed (the development setting)', () => {
  let d: Deployment;
  const hits = new Map<string, number>();
  const counted =
    (name: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    (_req: IncomingMessage, res: ServerResponse) => {
      hits.set(name, (hits.get(name) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };

  beforeAll(async () => {
    d = await startDeployment({
      oauthYaml: '  clients: { fetchTimeoutMs: 400, registrationRateLimit: { requestsPerMinute: 3 } }\n',
    });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('refuses a document at the cloud metadata address (169.254.169.254)', async () => {
    // That it is refused before connecting is shown in tests/unit/oauth/client-fetch.test.ts.
    const { status, text } = await authorizeAs(d, 'https://169.254.169.254/latest/client.json');
    expect(status).toBe(400);
    expect(text).toContain('invalid_client');
  });

  it('rate-limits dynamic client registration per address', async () => {
    const register = () =>
      fetch(`${d.proxy.url}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          redirect_uris: [redirectUri],
          token_endpoint_auth_method: 'none',
          application_type: 'native',
        }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await register()).status);
    expect(statuses.slice(0, 3)).toEqual([201, 201, 201]);
    const limited = await register();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('refuses a document that redirects', async () => {
    d.serve('/moved.json', (_req, res, base) =>
      res.writeHead(302, { location: `${base}/client.json` }).end(),
    );
    d.serve('/client.json', d.document('/client.json', redirectUri));
    const { status, text } = await authorizeAs(d, `${d.docsBase}/moved.json`);
    expect(status).toBe(400);
    expect(text).toContain('invalid_client');
  });

  it('refuses a 10 MB document', async () => {
    d.serve('/huge.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'x'.repeat(64 * 1024);
      res.write(`{"client_id":"${d.docsBase}/huge.json","client_name":"`);
      for (let i = 0; i < 160; i += 1) if (!res.write(chunk)) break;
      res.end('"}');
    });
    const { status, text } = await authorizeAs(d, `${d.docsBase}/huge.json`);
    expect(status).toBe(400);
    expect(text).toContain('invalid_client');
  });

  it('refuses a server that does not answer in time', async () => {
    d.serve('/slow.json', () => undefined);
    const started = Date.now();
    const { status, text } = await authorizeAs(d, `${d.docsBase}/slow.json`);
    expect(status).toBe(400);
    expect(text).toContain('invalid_client');
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('refuses a document whose client_id is not its own URL', async () => {
    d.serve('/impostor.json', d.document('/someone-else.json', redirectUri));
    const { status, text } = await authorizeAs(d, `${d.docsBase}/impostor.json`);
    expect(status).toBe(400);
    expect(text).toContain('invalid_client');
  });

  it('keeps a document as long as its Cache-Control allows (at most 24 hours)', async () => {
    d.serve(
      '/cached.json',
      counted('cached', d.document('/cached.json', redirectUri), { 'cache-control': 'max-age=600' }),
    );
    expect((await authorizeAs(d, `${d.docsBase}/cached.json`)).status).toBe(303);
    expect((await authorizeAs(d, `${d.docsBase}/cached.json`)).status).toBe(303);
    expect(hits.get('cached')).toBe(1);
  });

  it("shows the client's name, where it sends the browser back, the agents and what each may use", async () => {
    d.serve(
      '/shown.json',
      d.document('/shown.json', 'http://127.0.0.1:9/back', { client_name: 'Shown <Client>' }),
    );
    const browser = new Browser();
    const url = authorizeUrl(d, {
      client_id: `${d.docsBase}/shown.json`,
      redirect_uri: 'http://127.0.0.1:9/back',
      code_challenge: pkce().challenge,
    });
    let { response } = await browser.follow(url, d.proxy.url);
    const login = await response.text();
    expect(login).toContain('Shown &#60;Client&#62;');
    const posted = await browser.postForm(new URL(formAction(login), d.proxy.url).toString(), {
      csrf: formField(login, 'csrf')!,
      user: 'carol',
      password,
    });
    ({ response } = await browser.follow(
      new URL(posted.headers.get('location')!, d.proxy.url).toString(),
      d.proxy.url,
    ));
    const html = await response.text();
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script|src=|href=/);
    expect(html).toContain('Shown &#60;Client&#62;');
    expect(html).toContain('127.0.0.1:9');
    expect(html).toContain(`metadata document at <code>${new URL(d.docsBase).host}</code>`);
    expect(html).toContain('value="alice"');
    expect(html).toContain('value="bob"');
    expect(html).toContain('<code>alpha_echo</code>');
    expect(html).toContain('<code>beta_*</code>');
    expect(html).toContain('<code>mcp</code>');
  });
});

describe('without the development setting', () => {
  let d: Deployment;
  let connections = 0;
  beforeAll(async () => {
    d = await startDeployment({ loopbackDocuments: false });
    d.serve('/client.json', (req, res) => {
      connections += 1;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(d.document('/client.json', redirectUri)));
      void req;
    });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('refuses a document on 127.0.0.1 and never connects to it', async () => {
    const { status, text } = await authorizeAs(d, `${d.docsBase}/client.json`);
    expect(status).toBe(400);
    expect(text).toContain('invalid_client');
    expect(connections).toBe(0);
  });

  it('refuses a document on a host name that resolves to loopback', async () => {
    const port = new URL(d.docsBase).port;
    const { status } = await authorizeAs(d, `https://localhost:${port}/client.json`);
    expect(status).toBe(400);
    expect(connections).toBe(0);
  });

  it('still accepts clients registered by DCR', async () => {
    const { registerClient } = await import('./harness.ts');
    const clientId = await registerClient(d, redirectUri);
    const callback = await approve(
      new Browser(),
      authorizeUrl(d, { client_id: clientId, redirect_uri: redirectUri, code_challenge: pkce().challenge }),
      d.proxy.url,
      { agent: 'alice' },
    );
    expect(callback.get('code')).not.toBeNull();
  });
});
