import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, TestOAuthProvider, connectWithOAuth, type Deployment } from './harness.ts';

let d: Deployment;
beforeAll(async () => {
  d = await startDeployment();
});
afterAll(async () => {
  await d?.close();
});

describe('smoke', () => {
  it('serves metadata', async () => {
    const r = await fetch(`${d.proxy.url}/.well-known/oauth-authorization-server`);
    const body = await r.json();
    console.log(r.status, body);
    expect(r.status).toBe(200);
  });
  it('DCR flow', async () => {
    const provider = new TestOAuthProvider({ redirectUrl: 'http://127.0.0.1:9/callback' });
    const { client } = await connectWithOAuth(d.proxy.mcpUrl, provider, { agent: 'alice' }, 'legacy');
    const tools = await client.listTools();
    console.log(tools.tools.map((t) => t.name));
    await client.close();
  });
});
