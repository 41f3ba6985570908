// The channel notifier's resync (the store's append feed reconnected, so appends may have been missed): every waiter
// is woken and every subscriber re-checks once, a failing subscriber does not stop the others; a long poll woken
// with nothing new waits out the rest of its time instead of answering empty, and still gets a later post.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInProcessBotRunner } from '../../../servers/bot-runner/runner.ts';
import { createChannelNotifier } from '../../../servers/channels/notifier.ts';
import { ChannelService } from '../../../servers/channels/service.ts';
import { createSqliteChannelStore } from '../../../servers/channels/store/sqlite.ts';
import type { ChannelStore } from '../../../servers/channels/store/types.ts';

describe('channel notifier resync', () => {
  it('wakes every waiter and calls every subscriber once; a failing one does not stop the rest', async () => {
    const notifier = createChannelNotifier();
    notifier.publish('c1', 3);
    const waits = [notifier.waitFor('c1', 3, 10_000), notifier.waitFor('c2', 0, 10_000)];
    const heard: string[] = [];
    notifier.subscribe(
      () => undefined,
      () => {
        throw new Error('broken subscriber');
      },
    );
    const stop = notifier.subscribe(
      (id) => heard.push(id),
      () => heard.push('resync'),
    );
    notifier.subscribe((id) => heard.push(`plain:${id}`)); // no onResync: only appends
    notifier.resync();
    expect(await Promise.all(waits)).toEqual([true, true]);
    expect(heard).toEqual(['resync']);
    expect(notifier.knownChannels()).toEqual(['c1']);
    stop();
    notifier.resync();
    expect(heard).toEqual(['resync']);
  });
});

describe('a long poll woken by a resync', () => {
  let store: ChannelStore;
  let service: ChannelService;
  beforeEach(() => {
    store = createSqliteChannelStore({ file: ':memory:' });
    service = new ChannelService({ store, runner: createInProcessBotRunner() });
  });
  afterEach(async () => {
    await store.close();
  });
  /** A channel alice has joined, and her cursor at its end. */
  const joinedChannel = async (): Promise<{ id: string; cursor: number }> => {
    const created = (await service.createChannel({ agent: 'alice' }, { name: 't', slots: ['invite:a'] })) as {
      channel_id: string;
      invites: Array<{ code: string }>;
    };
    await service.joinChannel({ agent: 'alice' }, { invite_code: created.invites[0]!.code });
    const { cursor } = await service.syncMessages({ agent: 'alice' }, { channel_id: created.channel_id });
    return { id: created.channel_id, cursor };
  };

  it('re-reads, and with nothing new waits on for the post that comes later', async () => {
    const { id, cursor } = await joinedChannel();
    const started = performance.now();
    const poll = service.syncMessages({ agent: 'alice' }, { channel_id: id, cursor, wait_ms: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    service.notifier.resync();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await service.postMessage({ agent: 'alice' }, { channel_id: id, body: 'later' });
    const woke = await poll;
    expect(woke.messages.map((m) => m.body)).toEqual(['later']);
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it('answers empty when its time runs out after a resync found nothing', async () => {
    const { id, cursor } = await joinedChannel();
    const started = performance.now();
    const poll = service.syncMessages({ agent: 'alice' }, { channel_id: id, cursor, wait_ms: 300 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    service.notifier.resync();
    const answer = await poll;
    expect(answer.messages).toEqual([]);
    expect(answer.cursor).toBe(cursor);
    // It waited out its time rather than answering at the resync.
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  });
});
