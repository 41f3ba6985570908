// Scopes mapped from the policy's names: a call on a name no granted scope covers gets 403
// insufficient_scope naming every scope it needs; lists are not scoped; operator tokens are not subject to it.
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textOf } from '../proxy/harness.ts';
import { loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import {
  approve,
  authorizeUrl,
  Browser,
  pkce,
  registerClient,
  startDeployment,
  tokenRequest,
  type Deployment,
} from './harness.ts';

let d: Deployment;
const redirectUri = 'http://127.0.0.1:9/cb';

beforeAll(async () => {
  d = await startDeployment({
    oauthYaml: `  scopes:
    tools.echo: { description: 'Echo tools', allow: ['*_echo'] }
    tools.math: { description: 'Arithmetic', allow: ['*_add'] }
`,
  });
});
afterAll(async () => {
  await d?.close();
});

async function tokenWithScope(scope: string, agent: string): Promise<string> {
  const clientId = await registerClient(d, redirectUri);
  const { verifier, challenge } = pkce();
  const callback = await approve(
    new Browser(),
    authorizeUrl(d, { client_id: clientId, redirect_uri: redirectUri, code_challenge: challenge, scope }),
    d.proxy.url,
    { agent },
  );
  const { body } = await tokenRequest(d, {
    grant_type: 'authorization_code',
    code: callback.get('code') ?? '',
    redirect_uri: redirectUri,
    client_id: clientId,
    code_verifier: verifier,
    resource: d.proxy.urls.resource,
  });
  return String(body.access_token);
}

/** A 2026-07-28 request (sessionless), so one POST is one call. */
async function call(token: string, method: string, params: Record<string, unknown>) {
  const response = await fetch(d.proxy.mcpUrl, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': method,
      ...(typeof params.name === 'string' ? { 'mcp-name': params.name } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method,
      params: {
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    body: await response.text(),
  };
}

describe('step-up', () => {
  it('advertises the configured scopes in both metadata documents and the 401 challenge', async () => {
    const prm = (await (await fetch(`${d.proxy.url}/.well-known/oauth-protected-resource/mcp`)).json()) as {
      scopes_supported: string[];
    };
    const as = (await (await fetch(`${d.proxy.url}/.well-known/oauth-authorization-server`)).json()) as {
      scopes_supported: string[];
    };
    expect(prm.scopes_supported).toEqual(['tools.echo', 'tools.math']);
    expect(as.scopes_supported).toEqual(['tools.echo', 'tools.math']);
    const unauthenticated = await fetch(d.proxy.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unauthenticated.headers.get('www-authenticate')).toContain('scope="tools.echo tools.math"');
  });

  it('lets a call through that a granted scope covers', async () => {
    const token = await tokenWithScope('tools.echo', 'alice');
    const { status, body } = await call(token, 'tools/call', {
      name: 'alpha_echo',
      arguments: { message: 'hi' },
    });
    expect(status).toBe(200);
    expect(body).toContain('alpha: hi');
  });

  it('answers 403 insufficient_scope naming the scopes held and the one the call needs', async () => {
    const token = await tokenWithScope('tools.echo', 'alice');
    const { status, challenge, body } = await call(token, 'tools/call', {
      name: 'alpha_add',
      arguments: { a: 1, b: 2 },
    });
    expect(status).toBe(403);
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="tools.echo tools.math"');
    expect(challenge).toContain('resource_metadata=');
    expect(JSON.parse(body)).toMatchObject({ id: 7, error: { message: 'Forbidden: insufficient scope' } });
  });

  it('does not scope lists: the agent sees all its tools', async () => {
    const token = await tokenWithScope('tools.echo', 'alice');
    const { status, body } = await call(token, 'tools/list', {});
    expect(status).toBe(200);
    expect(body).toContain('alpha_add');
    expect(body).toContain('alpha_echo');
  });

  it('after stepping up with the named scopes, the call goes through', async () => {
    const token = await tokenWithScope('tools.echo tools.math', 'alice');
    const { status, body } = await call(token, 'tools/call', {
      name: 'alpha_add',
      arguments: { a: 1, b: 2 },
    });
    expect(status).toBe(200);
    expect(body).toContain('3');
  });

  it('still applies the policy after the scopes: another agent’s tool answers as unknown', async () => {
    const token = await tokenWithScope('tools.echo', 'alice');
    const { status, body } = await call(token, 'tools/call', {
      name: 'beta_echo',
      arguments: { message: 'x' },
    });
    expect(status).toBe(200);
    expect(body).toMatch(/unknown|not found/i);
  });

  it('answers 403 on a 2025-era session too (the node:http lane hands the call to the app)', async () => {
    const token = await tokenWithScope('tools.echo', 'alice');
    const client = new Client({ name: 'legacy', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(d.proxy.mcpUrl), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'ok' } }))).toContain(
        'ok',
      );
      await expect(client.callTool({ name: 'alpha_add', arguments: { a: 1, b: 2 } })).rejects.toThrow(
        /403|insufficient/i,
      );
    } finally {
      await client.close();
    }
  });

  it('does not apply to tokens the operator minted', async () => {
    const signer = await loadSigner(path.join(d.dir, 'keys'));
    const minted = await issueAgentToken(signer, {
      issuer: d.proxy.urls.issuer,
      audience: d.proxy.urls.resource,
      agent: 'alice',
      ttlSeconds: 300,
    });
    const { status } = await call(minted, 'tools/call', { name: 'alpha_add', arguments: { a: 1, b: 2 } });
    expect(status).toBe(200);
  });
});
