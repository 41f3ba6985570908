// Who hears a channel's notifications/resources/updated, over real HTTP with real SDK clients in both protocol eras:
// members do; a non-member's 2026-era listen stream and refused 2025-era subscribe hear nothing; a kicked agent
// stops hearing at once.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningKitServer } from '../../../servers/_kit/main.ts';
import { connectAgent, createHarness, startInProcess, type AgentClient, type Harness } from './harness.ts';

interface Created {
  channel_id: string;
  invites: Array<{ slot: string; code: string }>;
}

interface Listener {
  agent: AgentClient;
  heard: string[];
}

/** How long a test waits for a notification that must not come, after a member already heard it. */
const silenceMs = 400;

describe('channel resource updates reach only readers', () => {
  let h: Harness;
  let server: RunningKitServer;
  const clients: AgentClient[] = [];
  const closers: Array<() => Promise<void>> = [];
  const agent = async (name: string, modern: boolean): Promise<Listener> => {
    const client = await connectAgent(server.url, h, name, { modern });
    clients.push(client);
    const heard: string[] = [];
    client.client.setNotificationHandler(
      'notifications/resources/updated',
      (n) => void heard.push(n.params.uri),
    );
    return { agent: client, heard };
  };
  const listen = async (listener: Listener, uri: string): Promise<void> => {
    const subscription = await listener.agent.client.listen({ resourceSubscriptions: [uri] });
    closers.push(() => subscription.close());
  };
  const silence = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, silenceMs));

  beforeAll(async () => {
    h = await createHarness();
    server = await startInProcess(h);
  });
  afterEach(async () => {
    await Promise.allSettled(closers.splice(0).map((close) => close()));
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await server?.close();
    await h?.cleanup();
  });

  it('pushes updates to members in both eras and nothing to a non-member in either era', async () => {
    const alice = await agent('alice', false);
    const bob = await agent('bob', true);
    const malloryLegacy = await agent('mallory', false);
    const malloryModern = await agent('mallory', true);
    const created = await alice.agent.call<Created>('create_channel', {
      name: 'private',
      slots: ['invite:a', 'invite:b'],
    });
    await alice.agent.call('join_channel', { invite_code: created.invites[0]!.code });
    await bob.agent.call('join_channel', { invite_code: created.invites[1]!.code });
    const uri = `channel://${created.channel_id}`;

    await alice.agent.client.subscribeResource({ uri });
    await listen(bob, uri);
    // A non-member's 2025-era subscribe is refused exactly as its resources/read is.
    const readError = await malloryLegacy.agent.client.readResource({ uri }).catch((e: unknown) => e);
    const subscribeError = await malloryLegacy.agent.client
      .subscribeResource({ uri })
      .catch((e: unknown) => e);
    expect(subscribeError).toBeInstanceOf(Error);
    expect(subscribeError).toMatchObject({
      code: (readError as { code: number }).code,
      message: (readError as Error).message,
    });
    // A non-member's 2026-era listen opens (as it does for an unknown channel) but yields nothing.
    await listen(malloryModern, uri);
    await listen(malloryModern, 'channel://chn_unknown');

    await bob.agent.call('post_message', { channel_id: created.channel_id, body: 'members only' });
    await vi.waitFor(() => {
      expect(alice.heard).toContain(uri);
      expect(bob.heard).toContain(uri);
    });
    await silence();
    expect(malloryLegacy.heard).toEqual([]);
    expect(malloryModern.heard).toEqual([]);
  });

  it('stops pushing updates to an agent once it is kicked, in both eras', async () => {
    const alice = await agent('alice', false);
    const bob = await agent('bob', true);
    const carol = await agent('carol', false);
    const created = await alice.agent.call<Created>('create_channel', {
      name: 'kick',
      slots: ['invite:a', 'invite:b', 'invite:c'],
    });
    await alice.agent.call('join_channel', { invite_code: created.invites[0]!.code });
    await bob.agent.call('join_channel', { invite_code: created.invites[1]!.code });
    await carol.agent.call('join_channel', { invite_code: created.invites[2]!.code });
    const uri = `channel://${created.channel_id}`;
    await alice.agent.client.subscribeResource({ uri });
    await carol.agent.client.subscribeResource({ uri });
    await listen(bob, uri);

    await alice.agent.call('post_message', { channel_id: created.channel_id, body: 'before' });
    await vi.waitFor(() => {
      expect(bob.heard).toHaveLength(1);
      expect(carol.heard).toHaveLength(1);
    });

    // Carol, still a member when Bob is kicked, may hear that kick; let it settle before counting.
    await alice.agent.call('update_channel', { channel_id: created.channel_id, op: 'kick', agent: 'bob' });
    await alice.agent.call('update_channel', { channel_id: created.channel_id, op: 'kick', agent: 'carol' });
    await vi.waitFor(() => expect(alice.heard).toHaveLength(3));
    await silence();
    const carolHeard = carol.heard.length;
    await alice.agent.call('post_message', { channel_id: created.channel_id, body: 'after' });
    await vi.waitFor(() => expect(alice.heard).toHaveLength(4));
    await silence();
    expect(bob.heard).toEqual([uri]); // not even his own kick
    expect(carol.heard).toHaveLength(carolHeard);
    expect(carolHeard).toBeLessThanOrEqual(2); // "before" and at most Bob's kick, never her own
  });
});
