// An agent that has gone (no session, no listen stream, no call) for agentIdleMs is let go: its own
// session with a 2025-era child is ended (the child frees it), while present agents keep theirs, and a
// returning agent simply gets a new one. A call that outlasts the idle time keeps its agent.
import type { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { harnessWithHttpChild, textOf, waitFor } from './harness.ts';

const idleMs = 1000;
const t = harnessWithHttpChild(
  'kept',
  (url) => `
servers:
  - id: kept
    transport: http
    url: ${url}
policy:
  rules:
    - id: all
      subjects: ['*']
      servers: ['*']
      allow: ['*', 'test://**']`,
  { agentIdleMs: idleMs },
);

/** The sessions the child holds: the proxy's probe plus one per agent that has called it. */
async function childSessions(client: Client): Promise<number> {
  return Number(textOf(await client.callTool({ name: 'kept_sessions' })));
}

const echo = (message: string) => ({ name: 'kept_echo', arguments: { message } });

describe('agents that have gone', () => {
  it('end their child session after the idle time; present agents keep theirs; a return reopens', async () => {
    const bob = await t.h.connect('bob');
    const alice = await t.h.connect('alice');
    expect(textOf(await alice.callTool(echo('hi')))).toBe('kept: hi');
    expect(await childSessions(bob)).toBe(3);

    // Alice ends her front session: once idleMs has passed, her session with the child ends too.
    await (alice.transport as StreamableHTTPClientTransport).terminateSession();
    const ended = Date.now();
    await waitFor(async () => (await childSessions(bob)) === 2);
    expect(Date.now() - ended).toBeGreaterThanOrEqual(idleMs - 50);

    // Bob, present all along, still has his; alice comes back and is served on a new one.
    const again = await t.h.connect('alice');
    expect(textOf(await again.callTool(echo('back')))).toBe('kept: back');
    expect(await childSessions(bob)).toBe(3);
  });

  it('keep a sessionless (2026-era) agent while its call runs longer than the idle time', async () => {
    const bob = await t.h.connect('bob');
    const before = await childSessions(bob);
    const carol = await t.h.connect('carol', { era: 'modern' });
    const slow = await carol.callTool({ name: 'kept_slow', arguments: { steps: 4, delayMs: 500 } });
    expect(textOf(slow)).toBe('done after 4 steps');
    expect(await childSessions(bob)).toBe(before + 1);

    // With no session of its own, carol is let go once the idle time has passed after her call.
    await waitFor(async () => (await childSessions(bob)) === before);
    expect(textOf(await carol.callTool(echo('again')))).toBe('kept: again');
    expect(await childSessions(bob)).toBe(before + 1);
    await waitFor(async () => (await childSessions(bob)) === before);
  });

  it('keep a 2026-era agent whose listen stream is open, with its subscription', async () => {
    const bob = await t.h.connect('bob');
    const before = await childSessions(bob);
    const dave = await t.h.connect('dave', { era: 'modern' });
    const updates: string[] = [];
    dave.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const sub = await dave.listen({ resourceSubscriptions: ['test://counter'] });
    await waitFor(async () => (await childSessions(bob)) === before + 1);
    await new Promise((resolve) => setTimeout(resolve, 2.5 * idleMs));

    // Still subscribed through its own child session: the child's update on that session reaches it.
    expect(await childSessions(bob)).toBe(before + 1);
    await dave.callTool({ name: 'kept_bump', arguments: {} });
    await waitFor(() => updates.length > 0);
    expect(updates).toEqual(['test://counter']);

    await sub.close();
    await waitFor(async () => (await childSessions(bob)) === before);
  });
});
