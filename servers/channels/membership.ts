// Channel membership: creating a channel (slots, invite codes, the bot attached at once) and joining it with an
// invite or a rejoin token (one-time, rotated on use, announced in the transcript). Joins run on ChannelCore's
// per-channel queue.
import { McpcpError } from '../../lib/errors.ts';
import type { BotSpec } from './bots.ts';
import {
  assertOpen,
  inviteRecord,
  newInvites,
  slotOf,
  systemSender,
  type Caller,
  type ChannelCore,
  type InviteCode,
} from './core.ts';
import { channelView } from './messages.ts';
import { hashCode, newCode, parseSlots } from './rules.ts';
import type { ChannelRecord, SlotRecord } from './store/types.ts';
import type { MessageDraft } from './transcript.ts';

export async function createChannel(
  core: ChannelCore,
  caller: Caller,
  input: { name: string; slots: string[] } & BotSpec,
): Promise<{
  channel_id: string;
  invites: InviteCode[];
  channel_invite: string;
  view: unknown;
}> {
  const slots = parseSlots(input.slots, core.limits.maxSlots);
  const wantsBot = input.bot_code !== undefined || input.bot_preset !== undefined;
  if (wantsBot && !slots.some((slot) => slot.kind === 'bot')) {
    slots.unshift({ id: '', kind: 'bot', label: 'bot', agent: null, seed: null });
  }
  slots.forEach((slot, index) => (slot.id = `s${index}`));
  const bot = wantsBot ? await core.bots.resolve(input) : undefined;
  const now = core.now();
  const channel: ChannelRecord = {
    id: newCode('chn_', 12),
    name: input.name,
    admin: caller.agent,
    createdAt: now,
    closedAt: null,
    slots,
    version: 1,
  };
  const {
    records: invites,
    codes,
    channelInvite,
  } = newInvites(
    channel.id,
    slots.filter((slot) => slot.kind === 'invite'),
    now,
  );
  const messages = await core.store.createChannel(channel, invites, [
    {
      ts: now,
      from: systemSender,
      kind: 'channel:create',
      body: {
        name: channel.name,
        admin: channel.admin,
        slots: slots.map(({ id, kind, label }) => ({ id, kind, label })),
      },
    },
  ]);
  core.published(channel.id, messages);
  if (bot !== undefined) {
    await core.serial(channel.id, () => core.bots.attach(channel.id, bot, input.bot_params ?? null));
  }
  return {
    channel_id: channel.id,
    invites: codes,
    channel_invite: channelInvite,
    view: await channelView(core, caller, channel.id),
  };
}

export async function joinChannel(
  core: ChannelCore,
  caller: Caller,
  input: { invite_code: string; seed?: string | undefined },
): Promise<{ channel_id: string; slot: string; rejoin_token: string; view: unknown }> {
  const invite = await core.store.findInvite(hashCode(input.invite_code));
  if (invite === undefined) throw new McpcpError('ERR_INVITE_INVALID', 'invite code is unknown');
  if (invite.usedAt !== null) throw new McpcpError('ERR_INVITE_INVALID', 'invite code was already used');
  const result = await core.serial(invite.channelId, async () => {
    const channel = await core.channel(invite.channelId);
    assertOpen(channel);
    const held = slotOf(channel, caller.agent);
    const now = core.now();
    const rejoin = newCode('rej_', 24);
    let slot: SlotRecord | undefined;
    let draft: MessageDraft;
    const consume = invite.slotId === '*' ? [] : [invite.codeHash];
    if (invite.kind === 'rejoin') {
      slot = channel.slots.find((s) => s.id === invite.slotId);
      if (slot === undefined) throw new McpcpError('ERR_INVITE_INVALID', 'rejoin token names no slot');
      if (held !== undefined && held.id !== slot.id) {
        throw new McpcpError('ERR_CONFLICT', `${caller.agent} already holds slot ${held.id}`);
      }
      draft = {
        ts: now,
        from: systemSender,
        kind: 'member:rejoin',
        body: { slot: slot.id, from: slot.agent, to: caller.agent },
      };
      slot.agent = caller.agent;
    } else {
      if (held !== undefined)
        throw new McpcpError('ERR_CONFLICT', `${caller.agent} already holds slot ${held.id}`);
      slot =
        invite.slotId === '*'
          ? channel.slots.find((s) => s.kind === 'invite' && s.agent === null)
          : channel.slots.find((s) => s.id === invite.slotId);
      if (slot === undefined || slot.agent !== null) {
        throw new McpcpError('ERR_CHANNEL_FULL', `channel ${channel.id} has no free slot for this invite`);
      }
      slot.agent = caller.agent;
      slot.seed = input.seed ?? null;
      draft = {
        ts: now,
        from: systemSender,
        kind: 'member:join',
        body: { slot: slot.id, label: slot.label, agent: caller.agent, seed: slot.seed },
      };
    }
    const committed = await core.store.commit(channel.id, {
      channel,
      consumeInvites: consume,
      revokeInvites: [
        { slotId: slot.id, kind: 'rejoin' },
        ...(invite.kind === 'invite' ? [{ slotId: slot.id, kind: 'invite' as const }] : []),
      ],
      addInvites: [inviteRecord(channel.id, slot.id, rejoin, 'rejoin', now)],
      messages: [draft],
    });
    core.published(channel.id, committed.messages);
    const joinMessage = committed.messages[0]!;
    if (invite.kind === 'invite') {
      await core.bots.runHook(channel.id, 'join', { slot: slot.id, agent: caller.agent }, joinMessage);
    }
    return { slot: slot.id, rejoin };
  });
  return {
    channel_id: invite.channelId,
    slot: result.slot,
    rejoin_token: result.rejoin,
    view: await channelView(core, caller, invite.channelId),
  };
}
