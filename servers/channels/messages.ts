// Messages: posting (idempotent on client_msg_id: a repeat answers as the first did; the bot's hook runs in the same
// queue step), the long-poll sync, and the read-only views (who, list_channels). Must not change membership or
// channel settings.
import { McpcpError } from '../../lib/errors.ts';
import { assertOpen, slotOf, type Caller, type ChannelCore, type SignedHead } from './core.ts';
import { isReservedKind, kindProblem } from './message-rules.ts';
import { eventOf } from './rules.ts';
import type { ChannelMessage } from './transcript.ts';

export async function postMessage(
  core: ChannelCore,
  caller: Caller,
  input: {
    channel_id: string;
    body: unknown;
    kind?: string | undefined;
    client_msg_id?: string | undefined;
  },
): Promise<{ seq: number; hash: string; duplicate: boolean; replies: ChannelMessage[] }> {
  core.checkBody(input.body);
  const kind = input.kind ?? 'user';
  // Only the server speaks in its own kinds (message-rules.ts): an agent's "system" or "bot:attach" is refused.
  const problem = kindProblem(kind);
  if (problem !== undefined)
    throw new McpcpError(isReservedKind(kind) ? 'ERR_KIND_RESERVED' : 'ERR_INVALID_ARGUMENT', problem);
  return core.serial(input.channel_id, async () => {
    const channel = await core.channel(input.channel_id);
    const slot = slotOf(channel, caller.agent);
    if (slot === undefined)
      throw new McpcpError('ERR_NOT_MEMBER', `${caller.agent} holds no slot in ${channel.id}`);
    assertOpen(channel);
    const { messages, duplicate } = await core.store.append(
      channel.id,
      [
        {
          ts: core.now(),
          from: { type: 'agent', agent: caller.agent, slot: slot.id },
          kind,
          body: input.body ?? null,
        },
      ],
      input.client_msg_id === undefined
        ? undefined
        : { agent: caller.agent, clientMsgId: input.client_msg_id },
    );
    const message = messages[0]!;
    if (duplicate)
      return { seq: message.seq, hash: message.hash, duplicate, replies: await hookOutputOf(core, message) };
    core.published(channel.id, messages);
    const replies = await core.bots.runHook(channel.id, 'message', eventOf(message), message);
    return { seq: message.seq, hash: message.hash, duplicate, replies };
  });
}

// A hook's output is at most 64 bot posts (rules.ts checkBotPosts), a fairness:lock before them, a reveal and a
// commit after them.
const maxHookOutput = 64 + 3;

/**
 * What the bot's hook committed for trigger (runHook in bots.ts), read back from the transcript, so a repeated post
 * answers with the same replies as the first. The hook runs in the trigger's own queue step (or, after a crash, in
 * the catch-up before the channel's next write), so its output is the run of messages right after the trigger: a
 * fairness:lock naming it, the posts or bot:error replying to it, then a game-over reveal and the next commitment.
 */
async function hookOutputOf(core: ChannelCore, trigger: ChannelMessage): Promise<ChannelMessage[]> {
  const after = await core.store.readMessages(trigger.channel_id, trigger.seq, maxHookOutput);
  const output: ChannelMessage[] = [];
  for (const m of after) {
    const previous = output.at(-1);
    const system = m.from.type === 'system';
    const body = m.body as { trigger?: unknown; reason?: unknown } | null;
    const belongs =
      m.reply_to === trigger.seq ||
      (system && m.kind === 'fairness:lock' && previous === undefined && body?.trigger === trigger.seq) ||
      (system &&
        m.kind === 'fairness:reveal' &&
        previous?.reply_to === trigger.seq &&
        body?.reason === 'game:over') ||
      (system && m.kind === 'fairness:commit' && previous?.kind === 'fairness:reveal');
    if (!belongs) break;
    output.push(m);
  }
  return output;
}

// How often one long poll re-reads after a wake-up that found nothing (a resync, a head already read past).
const maxWakes = 4;

export async function syncMessages(
  core: ChannelCore,
  caller: Caller,
  input: {
    channel_id: string;
    cursor?: number | undefined;
    limit?: number | undefined;
    wait_ms?: number | undefined;
  },
  signal?: AbortSignal,
): Promise<{ messages: ChannelMessage[]; cursor: number; more: boolean; head: SignedHead }> {
  const waitMs = input.wait_ms ?? 0;
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > core.limits.maxWaitMs) {
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      `wait_ms must be an integer from 0 to ${core.limits.maxWaitMs}`,
    );
  }
  const limit = input.limit ?? 100;
  await core.readable(caller, input.channel_id);
  const cursor = input.cursor ?? (await core.store.getCursor(input.channel_id, caller.agent));
  let messages = await core.store.readMessages(input.channel_id, cursor, limit + 1);
  // A wake-up is a cue to re-read: after a resync (appends may have been missed) every waiter is woken, and one
  // with still nothing to read waits out the rest of its time. Bounded, so a wake-up that keeps finding nothing
  // cannot spin.
  const deadline = performance.now() + waitMs;
  for (let wakes = 0; messages.length === 0 && wakes < maxWakes && !signal?.aborted; wakes += 1) {
    const left = Math.ceil(deadline - performance.now());
    if (left <= 0 || !(await core.notifier.waitFor(input.channel_id, cursor, left, signal))) break;
    messages = await core.store.readMessages(input.channel_id, cursor, limit + 1);
  }
  const more = messages.length > limit;
  if (more) messages = messages.slice(0, limit);
  const next = messages.at(-1)?.seq ?? cursor;
  if (next !== cursor) await core.store.setCursor(input.channel_id, caller.agent, next);
  return { messages, cursor: next, more, head: await core.signedHead(input.channel_id) };
}

export async function channelView(core: ChannelCore, caller: Caller, channelId: string): Promise<unknown> {
  const channel = await core.readable(caller, channelId);
  const bot = await core.store.getBot(channelId);
  const head = await core.store.head(channelId);
  return {
    channel_id: channel.id,
    name: channel.name,
    admin: channel.admin,
    state: channel.closedAt === null ? 'open' : 'closed',
    created_at: channel.createdAt,
    closed_at: channel.closedAt,
    you: {
      agent: caller.agent,
      slot: slotOf(channel, caller.agent)?.id ?? null,
      admin: channel.admin === caller.agent,
    },
    slots: channel.slots.map((slot) => ({
      id: slot.id,
      kind: slot.kind,
      label: slot.label,
      agent:
        slot.kind === 'bot' ? (bot !== undefined && bot.slotId === slot.id ? bot.name : null) : slot.agent,
    })),
    members: channel.slots.filter((s) => s.kind === 'invite' && s.agent !== null).map((s) => s.agent),
    bot:
      bot === undefined
        ? null
        : {
            slot: bot.slotId,
            name: bot.name,
            code_hash: bot.codeHash,
            manifest: bot.manifest,
            params: bot.params,
            limits: bot.limits,
            runner_version: bot.runnerVersion,
            state_version: bot.version,
            fairness: { epoch: bot.epoch, commitment: bot.commitment, locked: bot.lockedSeeds !== null },
          },
    head,
  };
}

export async function listChannels(core: ChannelCore, caller: Caller): Promise<unknown[]> {
  const channels = await core.store.listChannels(caller.agent);
  return Promise.all(
    channels.map(async (channel) => ({
      channel_id: channel.id,
      name: channel.name,
      admin: channel.admin,
      state: channel.closedAt === null ? 'open' : 'closed',
      slot: slotOf(channel, caller.agent)?.id ?? null,
      head_seq: (await core.store.head(channel.id)).seq,
    })),
  );
}
