// The shared ChannelStore contract suite: every implementation (SQLite now, PostgreSQL later) runs it with its own
// factory. `reopen` simulates a restart on the same storage.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelStore, InviteRecord } from '../../../servers/channels/store/types.ts';
import { checkChain } from '../../../servers/channels/transcript.ts';
import { botRecord, channelRecord, systemDraft } from './store-fixtures.ts';

export interface StoreHarness {
  store: ChannelStore;
  /** Closes the store and opens a new one on the same data. */
  reopen(): Promise<ChannelStore>;
  cleanup(): Promise<void>;
}

const invite = (channelId: string, codeHash: string, slotId = 's1'): InviteRecord => ({
  codeHash,
  channelId,
  slotId,
  kind: 'invite',
  createdAt: 1_000,
  usedAt: null,
});

export function runChannelStoreSuite(name: string, open: () => Promise<StoreHarness>): void {
  describe(`ChannelStore contract: ${name}`, () => {
    let h: StoreHarness;
    let store: ChannelStore;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('creates a channel with its first messages chained from genesis', async () => {
      const messages = await store.createChannel(
        channelRecord('c1'),
        [invite('c1', 'h1')],
        [systemDraft('channel:create')],
      );
      expect(messages.map((m) => m.seq)).toEqual([1]);
      expect(checkChain('c1', messages)).toBeUndefined();
      expect((await store.getChannel('c1'))?.name).toBe('table');
      expect(await store.head('c1')).toEqual({ seq: 1, hash: messages[0]!.hash });
      await expect(store.createChannel(channelRecord('c1'), [], [])).rejects.toMatchObject({
        code: 'ERR_CONFLICT',
      });
    });

    it('appends messages in order and keeps the chain intact across appends', async () => {
      await store.createChannel(channelRecord('c1'), [], [systemDraft('channel:create')]);
      for (let i = 0; i < 5; i += 1)
        await store.append('c1', [systemDraft('x', { i }), systemDraft('y', { i })]);
      const all = await store.readMessages('c1', 0, 100);
      expect(all.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(checkChain('c1', all)).toBeUndefined();
      expect((await store.readMessages('c1', 9, 100)).map((m) => m.seq)).toEqual([10, 11]);
      expect((await store.readMessages('c1', 0, 3)).map((m) => m.seq)).toEqual([1, 2, 3]);
    });

    it('answers a repeated client_msg_id with the first stored message', async () => {
      await store.createChannel(channelRecord('c1'), [], []);
      const first = await store.append('c1', [systemDraft('user', 'a')], { agent: 'bob', clientMsgId: 'm1' });
      const again = await store.append('c1', [systemDraft('user', 'b')], { agent: 'bob', clientMsgId: 'm1' });
      expect(again.duplicate).toBe(true);
      expect(again.messages[0]!.hash).toBe(first.messages[0]!.hash);
      const other = await store.append('c1', [systemDraft('user', 'c')], {
        agent: 'carol',
        clientMsgId: 'm1',
      });
      expect(other.duplicate).toBe(false);
      expect((await store.head('c1')).seq).toBe(2);
    });

    it('consumes an invite once and rejects its reuse atomically', async () => {
      await store.createChannel(channelRecord('c1'), [invite('c1', 'h1')], []);
      const current = (await store.getChannel('c1'))!;
      current.slots[1]!.agent = 'bob';
      await store.commit('c1', {
        channel: current,
        consumeInvites: ['h1'],
        messages: [systemDraft('member:join')],
      });
      expect((await store.findInvite('h1'))?.usedAt).not.toBeNull();
      const again = (await store.getChannel('c1'))!;
      await expect(
        store.commit('c1', {
          channel: again,
          consumeInvites: ['h1'],
          messages: [systemDraft('member:join')],
        }),
      ).rejects.toMatchObject({
        code: 'ERR_INVITE_INVALID',
      });
      // The failed commit wrote nothing.
      expect((await store.head('c1')).seq).toBe(1);
      expect((await store.getChannel('c1'))!.version).toBe(2);
    });

    it('refuses a channel update made from a stale version', async () => {
      await store.createChannel(channelRecord('c1'), [], []);
      const a = (await store.getChannel('c1'))!;
      const b = (await store.getChannel('c1'))!;
      await store.commit('c1', { channel: { ...a, name: 'one' } });
      await expect(store.commit('c1', { channel: { ...b, name: 'two' } })).rejects.toMatchObject({
        code: 'ERR_CONFLICT',
      });
      expect((await store.getChannel('c1'))!.name).toBe('one');
      await expect(store.commit('nope', {})).rejects.toMatchObject({ code: 'ERR_CHANNEL_NOT_FOUND' });
    });

    it('lists the channels an agent administers or holds a slot in', async () => {
      await store.createChannel(channelRecord('c1', 'alice'), [], []);
      await store.createChannel(channelRecord('c2', 'carol'), [], []);
      const c2 = (await store.getChannel('c2'))!;
      c2.slots[1]!.agent = 'alice';
      await store.commit('c2', { channel: c2 });
      expect((await store.listChannels('alice')).map((c) => c.id)).toEqual(['c1', 'c2']);
      expect((await store.listChannels('carol')).map((c) => c.id)).toEqual(['c2']);
      expect(await store.listChannels('dave')).toEqual([]);
    });

    it('saves bot state with compare-and-swap', async () => {
      await store.createChannel(channelRecord('c1'), [], []);
      const { bot: attached } = await store.commit('c1', { bot: botRecord('c1') });
      expect(attached?.version).toBe(1);
      const saved = await store.saveBot({ ...attached!, state: { n: 1 } }, [systemDraft('bot')]);
      expect(saved.bot.version).toBe(2);
      await expect(
        store.saveBot({ ...attached!, state: { n: 99 } }, [systemDraft('bot')]),
      ).rejects.toMatchObject({
        code: 'ERR_CONFLICT',
      });
      expect((await store.getBot('c1'))!.state).toEqual({ n: 1 });
      expect((await store.head('c1')).seq).toBe(1);
      await store.commit('c1', { bot: null });
      expect(await store.getBot('c1')).toBeUndefined();
    });

    it('stores bot sources by hash and per-agent cursors', async () => {
      await store.putBotSource('h', 'class X {}');
      await store.putBotSource('h', 'class X {}');
      expect(await store.getBotSource('h')).toBe('class X {}');
      expect(await store.getBotSource('missing')).toBeUndefined();
      expect(await store.getCursor('c1', 'bob')).toBe(0);
      await store.setCursor('c1', 'bob', 7);
      await store.setCursor('c1', 'bob', 9);
      expect(await store.getCursor('c1', 'bob')).toBe(9);
    });

    it('loses nothing across a restart: channels, messages, invites, bot state, sources, cursors', async () => {
      await store.createChannel(channelRecord('c1'), [invite('c1', 'h1')], [systemDraft('channel:create')]);
      await store.append('c1', [systemDraft('user', 'x')], { agent: 'bob', clientMsgId: 'k' });
      await store.commit('c1', { bot: botRecord('c1') });
      await store.putBotSource('h', 'src');
      await store.setCursor('c1', 'bob', 2);
      const head = await store.head('c1');
      store = await h.reopen();
      expect((await store.getChannel('c1'))?.id).toBe('c1');
      expect(await store.head('c1')).toEqual(head);
      expect((await store.findInvite('h1'))?.usedAt).toBeNull();
      expect((await store.getBot('c1'))?.seed).toBe('b'.repeat(64));
      expect(await store.getBotSource('h')).toBe('src');
      expect(await store.getCursor('c1', 'bob')).toBe(2);
      expect(
        (await store.append('c1', [systemDraft('user', 'y')], { agent: 'bob', clientMsgId: 'k' })).duplicate,
      ).toBe(true);
      const next = await store.append('c1', [systemDraft('user', 'z')]);
      expect(checkChain('c1', await store.readMessages('c1', 0, 100))).toBeUndefined();
      expect(next.messages[0]!.prev_hash).toBe(head.hash);
    });
  });
}
