// Admin operations (update_channel: rename, kick, close, rotate_invites, transfer_admin, remove_bot, replace_bot; and
// attach_bot): each is recorded in the transcript, and ending a bot's run reveals its fairness seed first
// (ChannelCore.detachBot). Only the channel's admin may call them.
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
} from './core.ts';
import { newCode } from './rules.ts';

export async function updateChannel(
  core: ChannelCore,
  caller: Caller,
  input: {
    channel_id: string;
    op: 'rename' | 'kick' | 'close' | 'rotate_invites' | 'transfer_admin' | 'remove_bot' | 'replace_bot';
    name?: string | undefined;
    slot?: string | undefined;
    agent?: string | undefined;
  } & BotSpec,
): Promise<Record<string, unknown>> {
  const replacement = input.op === 'replace_bot' ? await core.bots.resolve(input) : undefined;
  return core.serial(input.channel_id, async () => {
    const channel = await core.adminOf(caller, input.channel_id);
    const now = core.now();
    const admin = caller.agent;
    switch (input.op) {
      case 'rename': {
        if (input.name === undefined) throw new McpcpError('ERR_INVALID_ARGUMENT', 'rename needs name');
        const from = channel.name;
        channel.name = input.name;
        await core.commitMessages(channel, { channel }, [
          {
            ts: now,
            from: systemSender,
            kind: 'channel:rename',
            body: { by: admin, from, to: input.name },
          },
        ]);
        return { name: input.name };
      }
      case 'kick': {
        assertOpen(channel);
        const slot = channel.slots.find(
          (s) =>
            s.kind === 'invite' &&
            (s.id === input.slot || (input.agent !== undefined && s.agent === input.agent)),
        );
        if (slot === undefined || slot.agent === null)
          throw new McpcpError('ERR_NOT_FOUND', 'no occupied slot matches slot/agent');
        const kicked = slot.agent;
        slot.agent = null;
        slot.seed = null;
        const invite = newCode('inv_', 16);
        await core.commitMessages(
          channel,
          {
            channel,
            revokeInvites: [
              { slotId: slot.id, kind: 'rejoin' },
              { slotId: slot.id, kind: 'invite' },
            ],
            addInvites: [inviteRecord(channel.id, slot.id, invite, 'invite', now)],
          },
          [
            {
              ts: now,
              from: systemSender,
              kind: 'member:kick',
              body: { by: admin, slot: slot.id, agent: kicked },
            },
          ],
        );
        return { slot: slot.id, agent: kicked, invite: { slot: slot.id, label: slot.label, code: invite } };
      }
      case 'close': {
        assertOpen(channel);
        channel.closedAt = now;
        await core.detachBot(
          channel,
          'close',
          [{ ts: now, from: systemSender, kind: 'channel:close', body: { by: admin } }],
          { channel },
        );
        return { state: 'closed' };
      }
      case 'rotate_invites': {
        assertOpen(channel);
        const free = channel.slots.filter((slot) => slot.kind === 'invite' && slot.agent === null);
        const { records: invites, codes, channelInvite } = newInvites(channel.id, free, now);
        const revoke: Array<{ slotId: string; kind: 'invite' }> = [
          { slotId: '*', kind: 'invite' },
          ...free.map((slot) => ({ slotId: slot.id, kind: 'invite' as const })),
        ];
        await core.commitMessages(channel, { revokeInvites: revoke, addInvites: invites }, [
          {
            ts: now,
            from: systemSender,
            kind: 'invites:rotate',
            body: { by: admin, slots: codes.map((c) => c.slot) },
          },
        ]);
        return { invites: codes, channel_invite: channelInvite };
      }
      case 'transfer_admin': {
        if (input.agent === undefined)
          throw new McpcpError('ERR_INVALID_ARGUMENT', 'transfer_admin needs agent');
        if (slotOf(channel, input.agent) === undefined) {
          throw new McpcpError('ERR_NOT_MEMBER', `${input.agent} holds no slot in ${channel.id}`);
        }
        channel.admin = input.agent;
        await core.commitMessages(channel, { channel }, [
          { ts: now, from: systemSender, kind: 'admin:transfer', body: { from: admin, to: input.agent } },
        ]);
        return { admin: input.agent };
      }
      case 'remove_bot': {
        const bot = await core.store.getBot(channel.id);
        if (bot === undefined) throw new McpcpError('ERR_BOT_NOT_FOUND', 'channel has no bot');
        await core.detachBot(
          channel,
          'remove',
          [
            {
              ts: now,
              from: systemSender,
              kind: 'bot:remove',
              body: { by: admin, code_hash: bot.codeHash },
            },
          ],
          {},
        );
        return { removed: bot.codeHash };
      }
      case 'replace_bot': {
        assertOpen(channel);
        const bot = await core.store.getBot(channel.id);
        if (bot !== undefined) {
          await core.detachBot(
            channel,
            'replace',
            [
              {
                ts: now,
                from: systemSender,
                kind: 'bot:remove',
                body: { by: admin, code_hash: bot.codeHash },
              },
            ],
            {},
          );
        }
        const attached = await core.bots.attach(channel.id, replacement!, input.bot_params ?? null);
        return { code_hash: attached.codeHash };
      }
    }
  });
}

export async function attachBot(
  core: ChannelCore,
  caller: Caller,
  input: { channel_id: string } & BotSpec,
): Promise<{ code_hash: string; commitment: string }> {
  const bot = await core.bots.resolve(input);
  return core.serial(input.channel_id, async () => {
    const channel = await core.adminOf(caller, input.channel_id);
    assertOpen(channel);
    if ((await core.store.getBot(channel.id)) !== undefined) {
      throw new McpcpError('ERR_CONFLICT', 'channel already has a bot; use update_channel op replace_bot');
    }
    const attached = await core.bots.attach(channel.id, bot, input.bot_params ?? null);
    return { code_hash: attached.codeHash, commitment: attached.commitment };
  });
}
