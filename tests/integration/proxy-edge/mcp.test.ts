import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { configYaml, startHarness, type Harness } from './harness.ts';

let h: Harness | undefined;
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await h?.close();
  h = undefined;
});

async function connect(harness: Harness, agent: string): Promise<Client> {
  const token = await harness.token(agent);
  const client = new Client({ name: `edge-${agent}`, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(harness.proxy.mcpUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function auditLines(harness: Harness): Record<string, unknown>[] {
  return harness.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'call');
}

describe('MCP through the real proxy (SDK v2 client, Bearer token)', () => {
  it('serves each agent its namespaced tools, audits the call without the token, and counts it', async () => {
    h = await startHarness();
    await waitFor(() => h!.proxy.gateway.isReady(), 30_000);
    const alice = await connect(h, 'alice');
    const bob = await connect(h, 'bob');
    expect(await toolNames(alice)).toEqual(['everything_echo', 'everything_get-sum']);
    expect(await toolNames(bob)).toEqual(['everything_echo']);

    const result = await alice.callTool({ name: 'everything_echo', arguments: { message: 'hi' } });
    expect(JSON.stringify(result.content)).toContain('hi');

    await waitFor(() => auditLines(h!).some((l) => l.name === 'everything_echo'));
    expect(auditLines(h)).toContainEqual(
      expect.objectContaining({
        agent: 'alice',
        method: 'tools/call',
        name: 'everything_echo',
        decision: 'allow',
        rule: 'alice-everything',
        outcome: 'ok',
      }),
    );
    const tokens = [await h.token('alice'), await h.token('bob')];
    for (const line of h.logs) for (const token of tokens) expect(line).not.toContain(token.split('.')[2]);
    expect(h.logs.join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);

    const metrics = await (await fetch(`${h.proxy.url}/metrics`)).text();
    expect(metrics).toContain(
      'mcpcp_calls_total{agent="alice",method="tools/call",name="everything_echo",outcome="ok"} 1',
    );
    expect(metrics).toContain('mcpcp_upstream_up{server="everything"} 1');
    expect(metrics).toMatch(/mcpcp_sessions [1-9]/);
    const ready = await fetch(`${h.proxy.url}/readyz`);
    expect(ready.status).toBe(200);
  }, 60_000);

  it('hot-reloads the policy: a tool disappears and reappears for a live session; a bad edit changes nothing', async () => {
    h = await startHarness();
    await waitFor(() => h!.proxy.gateway.isReady(), 30_000);
    const alice = await connect(h, 'alice');
    expect(await toolNames(alice)).toEqual(['everything_echo', 'everything_get-sum']);

    await h.writeConfig(configYaml({ allow: ['everything_echo'] }));
    await waitFor(async () => (await toolNames(alice)).length === 1);
    expect(await toolNames(alice)).toEqual(['everything_echo']);

    await h.writeConfig(
      configYaml({ allow: ['everything_echo', 'everything_get-sum'] }).replace('policy:', 'policy: ['),
    );
    await waitFor(() => h!.logs.some((l) => l.includes('config edit rejected')));
    expect(await toolNames(alice)).toEqual(['everything_echo']);

    await h.writeConfig(configYaml({ allow: ['everything_echo', 'everything_get-sum'] }));
    await waitFor(async () => (await toolNames(alice)).length === 2);
    expect(await toolNames(alice)).toEqual(['everything_echo', 'everything_get-sum']);
  }, 60_000);

  it('closes gracefully: an in-flight call finishes, then new connections are refused', async () => {
    h = await startHarness(configYaml({ allow: ['everything_*'] }), { closeTimeoutMs: 10_000 });
    await waitFor(() => h!.proxy.gateway.isReady(), 30_000);
    const alice = await connect(h, 'alice');
    const call = alice.callTool({
      name: 'everything_trigger-long-running-operation',
      arguments: { duration: 1, steps: 2 },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closing = h.proxy.close();
    const result = await call;
    expect(JSON.stringify(result.content)).toContain('Long running operation completed');
    await closing;
    await expect(fetch(`${h.proxy.url}/healthz`)).rejects.toThrow();
  }, 60_000);
});
