import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { configYaml, mcpHeaders, startHarness, type Harness } from './harness.ts';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ping = (id: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'everything_echo', arguments: { message: 'hi' } },
  });

async function post(harness: Harness, token: string, id: number): Promise<Response> {
  return fetch(harness.proxy.mcpUrl, {
    method: 'POST',
    headers: { ...mcpHeaders, authorization: `Bearer ${token}` },
    body: ping(id),
  });
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe('rate limit and policy hot reload at the edge', () => {
  it('answers 429 with Retry-After past the burst, for that agent only, and audits it without the token', async () => {
    h = await startHarness();
    const bob = await h.token('bob');
    const alice = await h.token('alice');
    const statuses: number[] = [];
    // bob: burst 5, 1 request per minute (slow refill, so a slow machine cannot refill the bucket mid-test).
    for (let i = 1; i <= 6; i++) statuses.push((await post(h, bob, i)).status);
    expect(statuses.slice(0, 5)).not.toContain(429);
    expect(statuses[5]).toBe(429);
    const refused = await post(h, bob, 7);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(50);
    expect(await refused.json()).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32000 } });
    expect((await post(h, alice, 8)).status).not.toBe(429);

    const audit = h.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'call');
    expect(audit).toContainEqual(
      expect.objectContaining({
        agent: 'bob',
        name: 'everything_echo',
        outcome: 'rate_limited',
        rule: 'rate-limit',
      }),
    );
    for (const line of h.logs) {
      expect(line).not.toContain(bob);
      expect(line).not.toContain(alice);
    }
    const metrics = await (await fetch(`${h.proxy.url}/metrics`)).text();
    expect(metrics).toMatch(/mcpcp_rate_limited_total\{agent="bob"\} 2/);
    expect(metrics).toMatch(/mcpcp_http_requests_total\{route="\/mcp",method="POST",status="429"\} 2/);
  });

  it('applies a policy edit without a restart and rejects an invalid edit, keeping the old policy', async () => {
    h = await startHarness(configYaml());
    const alice = await h.token('alice');
    for (let i = 1; i <= 5; i++) expect((await post(h, alice, i)).status).not.toBe(429);

    // Edit: alice gets a burst of 1. The watcher picks it up.
    await h.writeConfig(configYaml({ rateLimit: '{ requestsPerMinute: 1, burst: 1 }' }));
    await until(() => h!.logs.some((l) => l.includes('policy reloaded')));
    expect(h.logs.some((l) => l.includes('apply at the next restart'))).toBe(false);
    expect((await post(h, alice, 10)).status).not.toBe(429);
    expect((await post(h, alice, 11)).status).toBe(429);

    // An invalid edit is rejected with file:line and the limited policy stays.
    await h.writeConfig(configYaml().replace('subjects: [alice]', 'subjects: [alice]\n      bogus: true'));
    await until(() => h!.logs.some((l) => l.includes('config edit rejected')));
    const rejected = h.logs
      .map((l) => JSON.parse(l) as { msg?: string; error?: string })
      .find((l) => l.msg?.includes('rejected'));
    expect(rejected?.error).toMatch(/mcpcp\.yaml:\d+:\d+: policy\.rules\[0\]\.bogus/);
    expect((await post(h, alice, 12)).status).toBe(429);

    const result = await h.proxy.reloadPolicy();
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/mcpcp\.yaml:\d+:\d+/);

    // A valid edit again: unlimited.
    await h.writeConfig(configYaml());
    expect(await h.proxy.reloadPolicy()).toEqual({ ok: true });
    expect((await post(h, alice, 13)).status).not.toBe(429);
  });
});
