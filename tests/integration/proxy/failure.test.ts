// Children that crash, hang, time out or write garbage: each caller gets a clear error promptly, the
// dead child's tools leave the lists and come back, and everyone else keeps being served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allowAllPolicy,
  childServer,
  node,
  postAs,
  startHarness,
  textOf,
  waitFor,
  type Harness,
} from './harness.ts';

const yaml = `
servers:
${childServer('alpha')}
${childServer('crashy', { restart: '{ backoffMs: 1500, maxBackoffMs: 1500 }' })}
${childServer('junk', { args: ['--garbage'] })}
${allowAllPolicy('*')}`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness(yaml, { callTimeoutMs: 1500 });
});
afterAll(async () => {
  await h?.close();
});

describe('failure handling', () => {
  it('fails a call promptly when the child dies mid-call, and its tools leave and return', async () => {
    const client = await h.connect('crash');
    let changes = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => void (changes += 1));
    const listed = async () =>
      (await client.listTools(undefined, { cacheMode: 'bypass' })).tools.some(
        (t) => t.name === 'crashy_echo',
      );
    expect(await listed()).toBe(true);
    const started = Date.now();
    const error = await client.callTool({ name: 'crashy_crash', arguments: {} }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((error as { code?: number }).code).toBe(-32603);
    expect((error as Error).message).toMatch(/crashy/);
    // The restart backoff (at least 750 ms with jitter) keeps it gone long enough to be seen gone.
    await waitFor(async () => !(await listed()), 2000);
    expect(h.gateway.upstreamStates().find((s) => s.id === 'crashy')?.state).not.toBe('ready');
    await waitFor(() => changes >= 1, 2000);
    const leaveChanges = changes;
    await waitFor(listed, 10_000);
    await waitFor(() => changes > leaveChanges, 2000);
    expect(textOf(await client.callTool({ name: 'crashy_echo', arguments: { message: 'back' } }))).toBe(
      'crashy: back',
    );
    expect(h.gateway.upstreamStates().find((s) => s.id === 'crashy')?.state).toBe('ready');
  });

  it('times a hanging call out with a clear error while other calls proceed', async () => {
    const client = await h.connect('hang');
    const hung = client.callTool({ name: 'alpha_hang', arguments: {} }).catch((e: unknown) => e);
    // A slow child does not stall other children's calls meanwhile.
    const t0 = Date.now();
    expect(textOf(await client.callTool({ name: 'junk_echo', arguments: { message: 'fast' } }))).toBe(
      'junk: fast',
    );
    expect(Date.now() - t0).toBeLessThan(500);
    const error = await hung;
    expect((error as { code?: number }).code).toBe(-32001);
    expect((error as Error).message).toMatch(/timed out/);
    // The call is recorded just after its answer is sent.
    await waitFor(() => h.events.some((e) => e.name === 'alpha_hang' && e.outcome === 'timeout'));
  });

  it('keeps serving when a child writes garbage to stdout', async () => {
    const client = await h.connect('junk');
    expect(textOf(await client.callTool({ name: 'junk_garbage', arguments: {} }))).toBe('garbage written');
    expect(textOf(await client.callTool({ name: 'junk_echo', arguments: { message: 'still' } }))).toBe(
      'junk: still',
    );
    expect(textOf(await client.callTool({ name: 'alpha_echo', arguments: { message: 'ok' } }))).toBe(
      'alpha: ok',
    );
  });
});

describe('sessions', () => {
  it("refuses another agent's token on a session with 404, like an unknown session", async () => {
    const alice = await h.connect('alice');
    await alice.listTools();
    const sessionId = (alice.transport as { sessionId?: string } | undefined)?.sessionId;
    expect(sessionId).toBeTruthy();
    const post = (agent: string, sid: string) =>
      postAs(
        h,
        agent,
        { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' },
        { jsonrpc: '2.0', id: 9, method: 'tools/list' },
      );
    const stolen = await post('mallory', sessionId!);
    const unknown = await post('mallory', 'no-such-session');
    expect(stolen.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(await stolen.json()).toEqual(await unknown.json());
    const own = await post('alice', sessionId!);
    expect(own.status).toBe(200);
  });

  it('ends a session on DELETE', async () => {
    const client = await h.connect('deleter');
    const before = h.gateway.sessionCount();
    await (client.transport as unknown as { terminateSession(): Promise<void> }).terminateSession();
    expect(h.gateway.sessionCount()).toBe(before - 1);
  });
});

describe('a child that cannot start', () => {
  it('is reported crash-looping while the others serve, and the gateway is not ready', async () => {
    const broken = await startHarness(`
servers:
${childServer('fine')}
  - id: broken
    transport: stdio
    command: ${JSON.stringify(node)}
    args: ['-e', 'process.exit(1)']
    restart: { maxRestarts: 1, windowMs: 60000, backoffMs: 20, maxBackoffMs: 500 }
${allowAllPolicy('*')}`);
    try {
      await waitFor(
        () => broken.gateway.upstreamStates().find((s) => s.id === 'broken')?.state === 'crash-looping',
      );
      expect(broken.gateway.isReady()).toBe(false);
      expect(broken.gateway.upstreamStates().find((s) => s.id === 'fine')?.state).toBe('ready');
      const client = await broken.connect('x');
      expect(textOf(await client.callTool({ name: 'fine_echo', arguments: { message: 'ok' } }))).toBe(
        'fine: ok',
      );
    } finally {
      await broken.close();
    }
  });
});
