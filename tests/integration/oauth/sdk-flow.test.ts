// End to end with the SDK v2 client's own OAuth support, in both protocol eras: registration by Client ID
// Metadata Document (served on loopback, allowed by the development setting) and by Dynamic Client
// Registration, sign-in and consent over HTTP, the chosen agent's tools exactly, a refresh (rotated), and
// refusal once the grant is revoked.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWithOAuth, startDeployment, TestOAuthProvider, type Deployment } from './harness.ts';
import { textOf } from '../proxy/harness.ts';

let d: Deployment;
const redirectUrl = 'http://127.0.0.1:9/callback';

beforeAll(async () => {
  d = await startDeployment();
  d.serve('/client.json', d.document('/client.json', redirectUrl));
});
afterAll(async () => {
  await d?.close();
});

async function revoke(token: string, clientId: string): Promise<Response> {
  return fetch(`${d.proxy.url}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: 'refresh_token', client_id: clientId }).toString(),
  });
}

describe('the authorization server metadata', () => {
  it('is served at both well-knowns with the issuer it is served from and what MCP clients need', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const response = await fetch(`${d.proxy.url}${path}`, {
        headers: { origin: 'https://inspector.example' },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://inspector.example');
      const meta = (await response.json()) as Record<string, unknown>;
      expect(meta).toMatchObject({
        issuer: d.proxy.urls.issuer,
        code_challenge_methods_supported: ['S256'],
        response_types_supported: ['code'],
        client_id_metadata_document_supported: true,
        authorization_response_iss_parameter_supported: true,
        registration_endpoint: `${d.proxy.url}/oauth/register`,
        revocation_endpoint: `${d.proxy.url}/oauth/revoke`,
        scopes_supported: ['mcp'],
      });
      expect(meta.token_endpoint_auth_methods_supported).toContain('none');
      expect(meta).not.toHaveProperty('pushed_authorization_request_endpoint');
      expect(meta).not.toHaveProperty('dpop_signing_alg_values_supported');
    }
    const prm = (await (
      await fetch(`${d.proxy.url}/.well-known/oauth-protected-resource/mcp`)
    ).json()) as Record<string, unknown>;
    expect(prm).toMatchObject({
      resource: d.proxy.urls.resource,
      authorization_servers: [d.proxy.urls.issuer],
    });
  });
});

describe.each(['legacy', 'modern'] as const)('the SDK client (%s era)', (era) => {
  it.each([
    ['a client ID metadata document', 'alice', ['alpha_add', 'alpha_echo']],
    ['dynamic client registration', 'bob', ['beta_add', 'beta_echo']],
  ] as const)(
    'registers by %s, acts as %s, refreshes and is refused after revocation',
    async (how, agent, some) => {
      const cimd = how === 'a client ID metadata document';
      const provider = new TestOAuthProvider({
        redirectUrl,
        ...(cimd ? { clientMetadataUrl: `${d.docsBase}/client.json` } : {}),
      });
      const { client, callback } = await connectWithOAuth(d.proxy.mcpUrl, provider, { agent }, era);
      try {
        // RFC 9207: the authorization response names the issuer.
        expect(callback.get('iss')).toBe(d.proxy.urls.issuer);
        const clientId = provider.clientInformation()!.client_id;
        if (cimd) expect(clientId).toBe(`${d.docsBase}/client.json`);
        else expect(clientId).not.toContain('https://');

        const token = provider.tokens()!;
        expect(decodeProtectedHeader(token.access_token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
        expect(decodeJwt(token.access_token)).toMatchObject({
          sub: agent,
          aud: d.proxy.urls.resource,
          iss: d.proxy.urls.issuer,
          mcpcp_user: 'carol',
          scope: 'mcp',
        });

        const names = (await client.listTools()).tools.map((t) => t.name).sort();
        if (agent === 'alice') expect(names).toEqual([...some]);
        else {
          expect(names).toEqual(expect.arrayContaining([...some]));
          expect(names.every((n) => n.startsWith('beta_'))).toBe(true);
        }
        const tool = agent === 'alice' ? 'alpha_echo' : 'beta_echo';
        expect(textOf(await client.callTool({ name: tool, arguments: { message: 'hi' } }))).toContain('hi');

        // A broken access token makes the SDK refresh; the refresh token is rotated.
        const firstRefresh = token.refresh_token!;
        provider.setAccessToken('broken');
        expect(textOf(await client.callTool({ name: tool, arguments: { message: 'again' } }))).toContain(
          'again',
        );
        const refreshed = provider.tokens()!;
        expect(refreshed.refresh_token).toBeDefined();
        expect(refreshed.refresh_token).not.toBe(firstRefresh);
        expect(decodeJwt(refreshed.access_token).sub).toBe(agent);

        // Revoking the refresh token revokes the grant: the live access token stops working at once.
        expect((await revoke(refreshed.refresh_token!, clientId)).status).toBe(200);
        const raw = await fetch(d.proxy.mcpUrl, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${refreshed.access_token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
        });
        expect(raw.status).toBe(401);
        expect(raw.headers.get('www-authenticate')).toContain('invalid_token');
        provider.authorizationUrl = undefined;
        await expect(client.callTool({ name: tool, arguments: { message: 'no' } })).rejects.toThrow();
        // The SDK could not refresh either, so it asked for a new authorization.
        expect(provider.authorizationUrl).toBeDefined();
      } finally {
        await client.close().catch(() => undefined);
      }
    },
  );
});
