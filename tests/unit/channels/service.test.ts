// The channel service in-process (real SQLite in memory, real QuickJS sandbox): membership, invites, admin ops,
// long polls, concurrency, fairness messages and hostile bots.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, loadJwks, loadSigner, type Signer } from '../../../auth/keys.ts';
import { createInProcessBotRunner } from '../../../servers/bot-runner/runner.ts';
import { commitmentOf } from '../../../servers/channels/fairness.ts';
import { createHeadSigner } from '../../../servers/channels/receipts.ts';
import { ChannelService } from '../../../servers/channels/service.ts';
import { createSqliteChannelStore } from '../../../servers/channels/store/sqlite.ts';
import type { ChannelStore } from '../../../servers/channels/store/types.ts';
import { checkChain, type ChannelMessage } from '../../../servers/channels/transcript.ts';
import { counterBot } from '../../fixtures/bots/counter-bot.ts';
import { verifyTranscript } from '../../../client/verify/verify.ts';
import { runBotHook } from '../../../servers/sandbox/bot-host.ts';

const alice = { agent: 'alice' };
const bob = { agent: 'bob' };
const carol = { agent: 'carol' };

describe('channel service', () => {
  let store: ChannelStore;
  let service: ChannelService;
  let keysDir: string;
  let signer: Signer;
  let jwks: JSONWebKeySet;
  beforeAll(async () => {
    keysDir = await mkdtemp(join(tmpdir(), 'mcpcp-service-'));
    await generateKeyPair(keysDir);
    signer = await loadSigner(keysDir);
    jwks = await loadJwks(keysDir);
  });
  afterAll(async () => {
    await rm(keysDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    store = createSqliteChannelStore({ file: ':memory:' });
    service = new ChannelService({
      store,
      runner: createInProcessBotRunner(),
      signHead: createHeadSigner(signer, 'http://issuer.test'),
      limits: { bot: { memoryBytes: 16 * 1024 * 1024, instructions: 2_000_000, wallMs: 3_000 } },
    });
  });
  afterEach(async () => {
    await store.close();
  });

  async function table(slots = ['bot:ref', 'invite:a', 'invite:b'], bot: string | null = counterBot) {
    const created = await service.createChannel(alice, {
      name: 'table',
      slots,
      ...(bot ? { bot_code: bot } : {}),
    });
    return created;
  }

  async function all(channelId: string): Promise<ChannelMessage[]> {
    return store.readMessages(channelId, 0, 10_000);
  }

  it('creates a channel with one invite per invite slot and announces the bot with its commitment', async () => {
    const created = await table();
    expect(created.invites.map((i) => i.slot)).toEqual(['s1', 's2']);
    const messages = await all(created.channel_id);
    expect(messages.map((m) => m.kind)).toEqual(['channel:create', 'bot:attach', 'bot']);
    const attach = messages[1]!.body as {
      code_hash: string;
      fairness: { commitment: string };
      limits: unknown;
      runner_version: string;
    };
    expect(attach.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(attach.fairness.commitment).toMatch(/^[0-9a-f]{64}$/);
    expect(attach.runner_version).toContain('quickjs');
    expect(await service.getBotSource(attach.code_hash)).toEqual({
      code_hash: attach.code_hash,
      source: counterBot,
    });
  });

  it('refuses unknown channels, non-members and bad slot specs with stable codes', async () => {
    const { channel_id } = await table();
    await expect(service.who(alice, 'chn_nope')).rejects.toMatchObject({ code: 'ERR_CHANNEL_NOT_FOUND' });
    await expect(service.who(carol, channel_id)).rejects.toMatchObject({ code: 'ERR_NOT_MEMBER' });
    await expect(service.postMessage(carol, { channel_id, body: 'hi' })).rejects.toMatchObject({
      code: 'ERR_NOT_MEMBER',
    });
    await expect(service.syncMessages(carol, { channel_id })).rejects.toMatchObject({
      code: 'ERR_NOT_MEMBER',
    });
    await expect(service.createChannel(alice, { name: 'x', slots: ['seat:1'] })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(
      service.createChannel(alice, { name: 'x', slots: ['bot:a', 'bot:b', 'invite:c'] }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('rejects reused and forged invites, and a full channel', async () => {
    const { channel_id, invites, channel_invite } = await table();
    await service.joinChannel(bob, { invite_code: invites[0]!.code });
    await expect(service.joinChannel(carol, { invite_code: invites[0]!.code })).rejects.toMatchObject({
      code: 'ERR_INVITE_INVALID',
    });
    await expect(
      service.joinChannel(carol, { invite_code: 'inv_forged0000000000000000' }),
    ).rejects.toMatchObject({
      code: 'ERR_INVITE_INVALID',
    });
    await service.joinChannel(carol, { invite_code: channel_invite });
    await expect(
      service.joinChannel({ agent: 'dave' }, { invite_code: channel_invite }),
    ).rejects.toMatchObject({
      code: 'ERR_CHANNEL_FULL',
    });
    const view = (await service.who(alice, channel_id)) as { members: string[] };
    expect(view.members).toEqual(['bob', 'carol']);
  });

  it('rejects an oversized body and an out-of-range wait_ms', async () => {
    const { channel_id, invites } = await table();
    await service.joinChannel(bob, { invite_code: invites[0]!.code });
    await expect(service.postMessage(bob, { channel_id, body: 'x'.repeat(20_000) })).rejects.toMatchObject({
      code: 'ERR_LIMIT',
    });
    await expect(service.syncMessages(bob, { channel_id, wait_ms: 25_001 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(service.syncMessages(bob, { channel_id, wait_ms: -1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('refuses a body nested deeper than 64 levels with ERR_LIMIT and stores nothing; 64 levels pass', async () => {
    const { channel_id, invites } = await table(['invite:a'], null);
    await service.joinChannel(bob, { invite_code: invites[0]!.code });
    const nest = (levels: number): unknown => {
      let value: unknown = 'core';
      for (let i = 0; i < levels; i += 1) value = i % 2 ? { v: value } : [value];
      return value;
    };
    const before = (await all(channel_id)).length;
    for (const levels of [65, 3_000]) {
      await expect(service.postMessage(bob, { channel_id, body: nest(levels) })).rejects.toMatchObject({
        code: 'ERR_LIMIT',
        message: expect.stringMatching(/deeper than 64 levels/) as unknown,
      });
    }
    expect(await all(channel_id)).toHaveLength(before);
    await expect(
      service.createChannel(alice, {
        name: 'deep params',
        slots: ['bot:ref', 'invite:a'],
        bot_code: counterBot,
        bot_params: nest(100),
      }),
    ).rejects.toMatchObject({ code: 'ERR_LIMIT' });
    const posted = await service.postMessage(bob, { channel_id, body: nest(64) });
    expect((await all(channel_id)).at(-1)).toMatchObject({ seq: posted.seq, body: nest(64) });
  });

  it('is idempotent on client_msg_id', async () => {
    const { channel_id, invites } = await table(['invite:a'], null);
    await service.joinChannel(bob, { invite_code: invites[0]!.code });
    const first = await service.postMessage(bob, { channel_id, body: 'once', client_msg_id: 'k1' });
    const again = await service.postMessage(bob, { channel_id, body: 'once', client_msg_id: 'k1' });
    expect(again).toMatchObject({ seq: first.seq, hash: first.hash, duplicate: true });
    expect((await all(channel_id)).filter((m) => m.kind === 'user')).toHaveLength(1);
  });

  it('keeps order and the chain intact under concurrent posts', async () => {
    const { channel_id, invites } = await table(['invite:a', 'invite:b'], null);
    await service.joinChannel(bob, { invite_code: invites[0]!.code });
    await service.joinChannel(carol, { invite_code: invites[1]!.code });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        service.postMessage(i % 2 ? bob : carol, { channel_id, body: { i } }),
      ),
    );
    const messages = await all(channel_id);
    expect(checkChain(channel_id, messages)).toBeUndefined();
    const users = messages.filter((m) => m.kind === 'user');
    expect(users).toHaveLength(100);
    expect(users.map((m) => (m.body as { i: number }).i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('returns a waiting sync as soon as a message arrives, and after wait_ms otherwise', async () => {
    const { channel_id, invites } = await table(['invite:a', 'invite:b'], null);
    await service.joinChannel(bob, { invite_code: invites[0]!.code });
    await service.joinChannel(carol, { invite_code: invites[1]!.code });
    const first = await service.syncMessages(bob, { channel_id });
    const started = Date.now();
    const waiting = service.syncMessages(bob, { channel_id, cursor: first.cursor, wait_ms: 10_000 });
    setTimeout(() => void service.postMessage(carol, { channel_id, body: 'ping' }), 50);
    const result = await waiting;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result.messages.map((m) => m.body)).toEqual(['ping']);
    const idle = Date.now();
    const empty = await service.syncMessages(bob, { channel_id, wait_ms: 200 });
    expect(empty.messages).toEqual([]);
    expect(Date.now() - idle).toBeGreaterThanOrEqual(180);
    // Without a cursor, sync resumes where this agent last read.
    expect(empty.cursor).toBe(result.cursor);
  });

  it('moves a slot with a one-time rejoin token, rotates it and announces it', async () => {
    const { channel_id, invites } = await table();
    const joined = await service.joinChannel(bob, { invite_code: invites[0]!.code });
    const moved = await service.joinChannel({ agent: 'bob-laptop' }, { invite_code: joined.rejoin_token });
    expect(moved.slot).toBe(joined.slot);
    expect(moved.rejoin_token).not.toBe(joined.rejoin_token);
    await expect(service.joinChannel(bob, { invite_code: joined.rejoin_token })).rejects.toMatchObject({
      code: 'ERR_INVITE_INVALID',
    });
    await expect(service.postMessage(bob, { channel_id, body: 'x' })).rejects.toMatchObject({
      code: 'ERR_NOT_MEMBER',
    });
    await service.postMessage({ agent: 'bob-laptop' }, { channel_id, body: 'back' });
    const rejoin = (await all(channel_id)).find((m) => m.kind === 'member:rejoin');
    expect(rejoin?.body).toEqual({ slot: joined.slot, from: 'bob', to: 'bob-laptop' });
  });

  it("revokes a kicked agent's rejoin token and hands the admin a fresh invite for the slot", async () => {
    const { channel_id, invites } = await table();
    const joined = await service.joinChannel(bob, { invite_code: invites[0]!.code });
    const kicked = (await service.updateChannel(alice, { channel_id, op: 'kick', slot: joined.slot })) as {
      invite: { code: string };
    };
    await expect(service.joinChannel(bob, { invite_code: joined.rejoin_token })).rejects.toMatchObject({
      code: 'ERR_INVITE_INVALID',
    });
    const again = await service.joinChannel(carol, { invite_code: kicked.invite.code });
    expect(again.slot).toBe(joined.slot);
  });

  it('records every admin operation in the transcript and enforces admin rights', async () => {
    const { channel_id, invites } = await table();
    await service.joinChannel(bob, { invite_code: invites[0]!.code });
    await expect(
      service.updateChannel(bob, { channel_id, op: 'rename', name: 'mine' }),
    ).rejects.toMatchObject({ code: 'ERR_NOT_ADMIN' });
    await service.updateChannel(alice, { channel_id, op: 'rename', name: 'renamed' });
    const rotated = (await service.updateChannel(alice, { channel_id, op: 'rotate_invites' })) as {
      invites: Array<{ code: string }>;
    };
    await expect(service.joinChannel(carol, { invite_code: invites[1]!.code })).rejects.toMatchObject({
      code: 'ERR_INVITE_INVALID',
    });
    await service.joinChannel(carol, { invite_code: rotated.invites[0]!.code });
    await service.updateChannel(alice, { channel_id, op: 'kick', agent: 'carol' });
    await expect(service.postMessage(carol, { channel_id, body: 'x' })).rejects.toMatchObject({
      code: 'ERR_NOT_MEMBER',
    });
    await service.updateChannel(alice, { channel_id, op: 'transfer_admin', agent: 'bob' });
    await service.updateChannel(bob, {
      channel_id,
      op: 'replace_bot',
      bot_code: counterBot.replace('CounterBot', 'CounterBot2'),
    });
    await service.updateChannel(bob, { channel_id, op: 'remove_bot' });
    await service.updateChannel(bob, { channel_id, op: 'close' });
    await expect(service.postMessage(bob, { channel_id, body: 'late' })).rejects.toMatchObject({
      code: 'ERR_CHANNEL_CLOSED',
    });
    const kinds = (await all(channel_id)).filter((m) => m.from.type === 'system').map((m) => m.kind);
    expect(kinds).toEqual([
      'channel:create',
      'bot:attach',
      'member:join',
      'channel:rename',
      'invites:rotate',
      'member:join',
      'member:kick',
      'admin:transfer',
      'bot:remove',
      'fairness:reveal',
      'bot:attach',
      'bot:remove',
      'fairness:reveal',
      'channel:close',
    ]);
    const messages = await all(channel_id);
    expect(checkChain(channel_id, messages)).toBeUndefined();
    // Two bot instances, each revealed on detach: the whole transcript re-runs and verifies.
    const sources: Record<string, string> = {};
    for (const m of messages.filter((x) => x.kind === 'bot:attach')) {
      const hash = (m.body as { code_hash: string }).code_hash;
      sources[hash] = (await service.getBotSource(hash)).source;
    }
    const head = (await service.getReceipt(bob, channel_id)).head;
    const report = await verifyTranscript(
      { format: 'mcpcp-transcript/1', channel_id, messages, heads: [head], sources },
      { jwks, runHook: runBotHook },
    );
    expect(report.problems).toEqual([]);
    expect(report.checked.reveals).toBe(2);
  });

  it('catches up a hook a crash left unprocessed before the next write, and the transcript still verifies', async () => {
    const { channel_id, invites } = await table();
    const joined = await service.joinChannel(bob, { invite_code: invites[0]!.code });
    // A "crash" right after a message was stored but before its hook ran: the message is in the chain, no reply.
    const { messages: lost } = await store.append(channel_id, [
      {
        ts: Date.now(),
        from: { type: 'agent', agent: 'bob', slot: joined.slot },
        kind: 'user',
        body: 'lost',
      },
    ]);
    const next = await service.postMessage(bob, { channel_id, body: 'after restart' });
    const messages = await all(channel_id);
    const replyToLost = messages.filter((m) => m.reply_to === lost[0]!.seq && m.from.type === 'bot');
    expect(replyToLost.map((m) => (m.body as { echo: unknown }).echo)).toEqual(['lost']);
    expect(next.replies.at(-1)!.body).toMatchObject({ echo: 'after restart', n: 2 });
    const hash = (messages[1]!.body as { code_hash: string }).code_hash;
    await service.updateChannel(alice, { channel_id, op: 'close' });
    const report = await verifyTranscript(
      {
        format: 'mcpcp-transcript/1',
        channel_id,
        messages: await all(channel_id),
        heads: [(await service.getReceipt(alice, channel_id)).head],
        sources: { [hash]: counterBot },
      },
      { jwks, runHook: runBotHook },
    );
    expect(report.problems).toEqual([]);
  });

  it('locks player seeds at the first move and reveals a seed matching the commitment at game over', async () => {
    const { channel_id, invites } = await table();
    await service.joinChannel(bob, { invite_code: invites[0]!.code, seed: 'bob-seed' });
    await service.joinChannel(carol, { invite_code: invites[1]!.code, seed: 'carol-seed' });
    for (let i = 0; i < 3; i += 1)
      await service.postMessage(i % 2 ? carol : bob, { channel_id, body: `move ${i}` });
    const messages = await all(channel_id);
    const attach = messages.find((m) => m.kind === 'bot:attach')!.body as {
      fairness: { commitment: string };
    };
    const lock = messages.find((m) => m.kind === 'fairness:lock')!;
    expect(lock.body).toMatchObject({
      seeds: [
        { slot: 's1', seed: 'bob-seed' },
        { slot: 's2', seed: 'carol-seed' },
      ],
    });
    const firstMove = messages.find((m) => m.kind === 'user')!;
    expect(lock.seq).toBe(firstMove.seq + 1);
    const reveal = messages.find((m) => m.kind === 'fairness:reveal')!.body as {
      seed: string;
      commitment: string;
      valid: boolean;
    };
    expect(reveal.commitment).toBe(attach.fairness.commitment);
    expect(commitmentOf(reveal.seed)).toBe(attach.fairness.commitment);
    expect(reveal.valid).toBe(true);
    expect(messages.at(-1)!.kind).toBe('fairness:commit');
  });

  describe('hostile bots produce a system message and the channel carries on', () => {
    const hostile: Record<string, string> = {
      'an infinite loop': 'class B { constructor(ctx) { this.ctx = ctx; } onMessage() { for (;;) {} } }',
      'a memory bomb':
        'class B { constructor(ctx) { this.ctx = ctx; } onMessage() { const a = []; for (;;) a.push(new Array(100000).fill(a.length)); } }',
      'a throw': 'class B { constructor(ctx) { this.ctx = ctx; } onMessage() { throw new Error("boom"); } }',
      'reaching for the host (require, process, fetch)':
        'class B { constructor(ctx) { this.ctx = ctx; } onMessage() { const fs = require("fs"); process.exit(1); fetch("http://example.com"); } }',
      'garbage output':
        'class B { constructor(ctx) { this.ctx = ctx; } onMessage() { this.ctx.post("bot", { f: () => 1 }); } }',
      'a syntax error': 'class B { onMessage( {',
    };
    for (const [name, source] of Object.entries(hostile)) {
      it(
        name,
        async () => {
          const { channel_id, invites } = await table(['bot:b', 'invite:a'], source);
          await service.joinChannel(bob, { invite_code: invites[0]!.code });
          const posted = await service.postMessage(bob, { channel_id, body: 'go' });
          const error = posted.replies.find((m) => m.kind === 'bot:error');
          expect(error?.body).toMatchObject({ code: expect.stringMatching(/^ERR_BOT_/) });
          expect(error?.reply_to).toBe(posted.seq);
          const next = await service.postMessage(bob, { channel_id, body: 'still here' });
          expect(next.seq).toBeGreaterThan(posted.seq);
          expect(checkChain(channel_id, await all(channel_id))).toBeUndefined();
        },
        30_000,
      );
    }
  });
});
