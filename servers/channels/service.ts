// The channel service: every rule of channels (membership, invites, admin ops, transcript writes); bot hooks and the
// fairness steps are in bots.ts, pure rules in rules.ts. Transport-agnostic: MCP tools in tools.ts are a thin adapter.
// All writes to one channel run one at a time (a per-channel queue), so the chain, the bot's state and hook order stay
// consistent. Longer than 500 lines because the admin operations share that queue and the membership checks; moving
// them out would mean exporting the queue.
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { createSilentLogger } from '../../lib/log.ts';
import type { BotRunner } from '../bot-runner/runner.ts';
import { ChannelBots, type BotSpec, type BuiltinBot } from './bots.ts';
import type { ChannelNotifier } from './notifier.ts';
import { createChannelNotifier } from './notifier.ts';
import {
  agentKindPattern,
  checkBodySize,
  defaultChannelLimits,
  eventOf,
  hashCode,
  newCode,
  parseSlots,
  type ChannelLimits,
} from './rules.ts';
import type { ChannelRecord, ChannelStore, InviteRecord, SlotRecord } from './store/types.ts';
import type { ChannelMessage, HeadClaims, MessageDraft, Sender } from './transcript.ts';

export interface Caller {
  agent: string;
}

export type { BotSpec, BuiltinBot, ChannelLimits };
export { defaultChannelLimits };

export interface ChannelServiceOptions {
  store: ChannelStore;
  runner: BotRunner;
  /** Signs a head (JWS compact); without it heads are returned unsigned. */
  signHead?: (claims: HeadClaims) => Promise<string>;
  builtinBot?: (name: string) => BuiltinBot | undefined | Promise<BuiltinBot | undefined>;
  notifier?: ChannelNotifier;
  limits?: Partial<ChannelLimits>;
  now?: () => number;
  logger?: Logger;
}

export interface SignedHead {
  seq: number;
  hash: string;
  jws: string | null;
}

const systemSender: Sender = { type: 'system' };

export class ChannelService {
  readonly store: ChannelStore;
  readonly notifier: ChannelNotifier;
  readonly limits: ChannelLimits;
  readonly #bots: ChannelBots;
  readonly #signHead: ((claims: HeadClaims) => Promise<string>) | undefined;
  readonly #now: () => number;
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #signed = new Map<string, { seq: number; jws: Promise<string> }>();

  constructor(options: ChannelServiceOptions) {
    this.store = options.store;
    this.#signHead = options.signHead;
    this.notifier = options.notifier ?? createChannelNotifier();
    this.limits = { ...defaultChannelLimits, ...options.limits };
    this.#now = options.now ?? Date.now;
    this.#bots = new ChannelBots({
      store: options.store,
      runner: options.runner,
      builtin: options.builtinBot,
      limits: this.limits,
      now: this.#now,
      logger: options.logger ?? createSilentLogger(),
      publish: (channelId, messages) => this.#published(channelId, messages),
      getChannel: (channelId) => this.#channel(channelId),
    });
  }

  get runnerVersion(): string {
    return this.#bots.runnerVersion;
  }

  /** Runs fn after every earlier write to the same channel has finished. */
  #serial<T>(channelId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(channelId) ?? Promise.resolve();
    // Every write first lets the bot catch up on triggers a crash left unprocessed.
    const step = (): Promise<T> => this.#bots.catchUp(channelId).then(fn);
    const run = previous.then(step, step);
    const tail = run.catch(() => undefined);
    this.#queues.set(channelId, tail);
    void tail.then(() => {
      if (this.#queues.get(channelId) === tail) this.#queues.delete(channelId);
    });
    return run;
  }

  #published(channelId: string, messages: readonly ChannelMessage[]): void {
    const last = messages.at(-1);
    if (last !== undefined) this.notifier.publish(channelId, last.seq);
  }

  async #channel(channelId: string): Promise<ChannelRecord> {
    const channel = await this.store.getChannel(channelId);
    if (channel === undefined) throw new McpcpError('ERR_CHANNEL_NOT_FOUND', `no channel ${channelId}`);
    return channel;
  }

  #slotOf(channel: ChannelRecord, agent: string): SlotRecord | undefined {
    return channel.slots.find((slot) => slot.kind === 'invite' && slot.agent === agent);
  }

  /** Readers: slot holders and the admin. */
  async #readable(caller: Caller, channelId: string): Promise<ChannelRecord> {
    const channel = await this.#channel(channelId);
    if (channel.admin !== caller.agent && this.#slotOf(channel, caller.agent) === undefined) {
      throw new McpcpError('ERR_NOT_MEMBER', `${caller.agent} is not a member of ${channelId}`);
    }
    return channel;
  }

  async #adminOf(caller: Caller, channelId: string): Promise<ChannelRecord> {
    const channel = await this.#readable(caller, channelId);
    if (channel.admin !== caller.agent) {
      throw new McpcpError('ERR_NOT_ADMIN', `only the admin (${channel.admin}) may do this`);
    }
    return channel;
  }

  #open(channel: ChannelRecord): void {
    if (channel.closedAt !== null)
      throw new McpcpError('ERR_CHANNEL_CLOSED', `channel ${channel.id} is closed`);
  }

  #checkBody(body: unknown): void {
    checkBodySize(body, this.limits.maxBodyBytes);
  }

  // ---- channel lifecycle ----------------------------------------------------------------------------------------

  async createChannel(
    caller: Caller,
    input: { name: string; slots: string[] } & BotSpec,
  ): Promise<{
    channel_id: string;
    invites: Array<{ slot: string; label: string; code: string }>;
    channel_invite: string;
    view: unknown;
  }> {
    const slots = parseSlots(input.slots, this.limits.maxSlots);
    const wantsBot = input.bot_code !== undefined || input.bot_preset !== undefined;
    if (wantsBot && !slots.some((slot) => slot.kind === 'bot')) {
      slots.unshift({ id: '', kind: 'bot', label: 'bot', agent: null, seed: null });
    }
    slots.forEach((slot, index) => (slot.id = `s${index}`));
    const bot = wantsBot ? await this.#bots.resolve(input) : undefined;
    const now = this.#now();
    const channel: ChannelRecord = {
      id: newCode('chn_', 12),
      name: input.name,
      admin: caller.agent,
      createdAt: now,
      closedAt: null,
      slots,
      version: 1,
    };
    const invites: InviteRecord[] = [];
    const codes: Array<{ slot: string; label: string; code: string }> = [];
    for (const slot of slots) {
      if (slot.kind !== 'invite') continue;
      const invite = newCode('inv_', 16);
      codes.push({ slot: slot.id, label: slot.label, code: invite });
      invites.push({
        codeHash: hashCode(invite),
        channelId: channel.id,
        slotId: slot.id,
        kind: 'invite',
        createdAt: now,
        usedAt: null,
      });
    }
    const channelInvite = newCode('inv_', 16);
    invites.push({
      codeHash: hashCode(channelInvite),
      channelId: channel.id,
      slotId: '*',
      kind: 'invite',
      createdAt: now,
      usedAt: null,
    });
    const messages = await this.store.createChannel(channel, invites, [
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
    this.#published(channel.id, messages);
    if (bot !== undefined) {
      await this.#serial(channel.id, () => this.#bots.attach(channel.id, bot, input.bot_params ?? null));
    }
    return {
      channel_id: channel.id,
      invites: codes,
      channel_invite: channelInvite,
      view: await this.who(caller, channel.id),
    };
  }

  async joinChannel(
    caller: Caller,
    input: { invite_code: string; seed?: string | undefined },
  ): Promise<{ channel_id: string; slot: string; rejoin_token: string; view: unknown }> {
    const invite = await this.store.findInvite(hashCode(input.invite_code));
    if (invite === undefined) throw new McpcpError('ERR_INVITE_INVALID', 'invite code is unknown');
    if (invite.usedAt !== null) throw new McpcpError('ERR_INVITE_INVALID', 'invite code was already used');
    const result = await this.#serial(invite.channelId, async () => {
      const channel = await this.#channel(invite.channelId);
      this.#open(channel);
      const held = this.#slotOf(channel, caller.agent);
      const now = this.#now();
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
      const committed = await this.store.commit(channel.id, {
        channel,
        consumeInvites: consume,
        revokeInvites: [
          { slotId: slot.id, kind: 'rejoin' },
          ...(invite.kind === 'invite' ? [{ slotId: slot.id, kind: 'invite' as const }] : []),
        ],
        addInvites: [
          {
            codeHash: hashCode(rejoin),
            channelId: channel.id,
            slotId: slot.id,
            kind: 'rejoin',
            createdAt: now,
            usedAt: null,
          },
        ],
        messages: [draft],
      });
      this.#published(channel.id, committed.messages);
      const joinMessage = committed.messages[0]!;
      if (invite.kind === 'invite') {
        await this.#bots.runHook(channel.id, 'join', { slot: slot.id, agent: caller.agent }, joinMessage);
      }
      return { slot: slot.id, rejoin };
    });
    return {
      channel_id: invite.channelId,
      slot: result.slot,
      rejoin_token: result.rejoin,
      view: await this.who(caller, invite.channelId),
    };
  }

  async postMessage(
    caller: Caller,
    input: {
      channel_id: string;
      body: unknown;
      kind?: string | undefined;
      client_msg_id?: string | undefined;
    },
  ): Promise<{ seq: number; hash: string; duplicate: boolean; replies: ChannelMessage[] }> {
    this.#checkBody(input.body);
    const kind = input.kind ?? 'user';
    if (!agentKindPattern.test(kind))
      throw new McpcpError('ERR_INVALID_ARGUMENT', `kind must match ${agentKindPattern.source}`);
    return this.#serial(input.channel_id, async () => {
      const channel = await this.#channel(input.channel_id);
      const slot = this.#slotOf(channel, caller.agent);
      if (slot === undefined)
        throw new McpcpError('ERR_NOT_MEMBER', `${caller.agent} holds no slot in ${channel.id}`);
      this.#open(channel);
      const { messages, duplicate } = await this.store.append(
        channel.id,
        [
          {
            ts: this.#now(),
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
      if (duplicate) return { seq: message.seq, hash: message.hash, duplicate, replies: [] };
      this.#published(channel.id, messages);
      const replies = await this.#bots.runHook(channel.id, 'message', eventOf(message), message);
      return { seq: message.seq, hash: message.hash, duplicate, replies };
    });
  }

  async syncMessages(
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
    if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > this.limits.maxWaitMs) {
      throw new McpcpError(
        'ERR_INVALID_ARGUMENT',
        `wait_ms must be an integer from 0 to ${this.limits.maxWaitMs}`,
      );
    }
    const limit = input.limit ?? 100;
    await this.#readable(caller, input.channel_id);
    const cursor = input.cursor ?? (await this.store.getCursor(input.channel_id, caller.agent));
    let messages = await this.store.readMessages(input.channel_id, cursor, limit + 1);
    if (messages.length === 0 && waitMs > 0) {
      await this.notifier.waitFor(input.channel_id, cursor, waitMs, signal);
      messages = await this.store.readMessages(input.channel_id, cursor, limit + 1);
    }
    const more = messages.length > limit;
    if (more) messages = messages.slice(0, limit);
    const next = messages.at(-1)?.seq ?? cursor;
    if (next !== cursor) await this.store.setCursor(input.channel_id, caller.agent, next);
    return { messages, cursor: next, more, head: await this.signedHead(input.channel_id) };
  }

  async signedHead(channelId: string): Promise<SignedHead> {
    const head = await this.store.head(channelId);
    if (this.#signHead === undefined) return { ...head, jws: null };
    // One signature per (channel, head), shared by every reader waiting on that head.
    let entry = this.#signed.get(channelId);
    if (entry === undefined || entry.seq !== head.seq) {
      const jws = this.#signHead({
        typ: 'mcpcp-channel-head',
        channel_id: channelId,
        seq: head.seq,
        hash: head.hash,
        ts: this.#now(),
      });
      entry = { seq: head.seq, jws };
      this.#signed.set(channelId, entry);
      jws.catch(() => {
        if (this.#signed.get(channelId) === entry) this.#signed.delete(channelId);
      });
    }
    return { ...head, jws: await entry.jws };
  }

  async who(caller: Caller, channelId: string): Promise<unknown> {
    const channel = await this.#readable(caller, channelId);
    const bot = await this.store.getBot(channelId);
    const head = await this.store.head(channelId);
    return {
      channel_id: channel.id,
      name: channel.name,
      admin: channel.admin,
      state: channel.closedAt === null ? 'open' : 'closed',
      created_at: channel.createdAt,
      closed_at: channel.closedAt,
      you: {
        agent: caller.agent,
        slot: this.#slotOf(channel, caller.agent)?.id ?? null,
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

  async listChannels(caller: Caller): Promise<unknown[]> {
    const channels = await this.store.listChannels(caller.agent);
    return Promise.all(
      channels.map(async (channel) => ({
        channel_id: channel.id,
        name: channel.name,
        admin: channel.admin,
        state: channel.closedAt === null ? 'open' : 'closed',
        slot: this.#slotOf(channel, caller.agent)?.id ?? null,
        head_seq: (await this.store.head(channel.id)).seq,
      })),
    );
  }

  async getReceipt(caller: Caller, channelId: string): Promise<{ channel_id: string; head: SignedHead }> {
    await this.#readable(caller, channelId);
    return { channel_id: channelId, head: await this.signedHead(channelId) };
  }

  async getBotSource(codeHash: string): Promise<{ code_hash: string; source: string }> {
    const source = await this.store.getBotSource(codeHash);
    if (source === undefined)
      throw new McpcpError('ERR_BOT_NOT_FOUND', `no bot source with hash ${codeHash}`);
    return { code_hash: codeHash, source };
  }

  // ---- admin --------------------------------------------------------------------------------------------------

  async updateChannel(
    caller: Caller,
    input: {
      channel_id: string;
      op: 'rename' | 'kick' | 'close' | 'rotate_invites' | 'transfer_admin' | 'remove_bot' | 'replace_bot';
      name?: string | undefined;
      slot?: string | undefined;
      agent?: string | undefined;
    } & BotSpec,
  ): Promise<Record<string, unknown>> {
    const replacement = input.op === 'replace_bot' ? await this.#bots.resolve(input) : undefined;
    return this.#serial(input.channel_id, async () => {
      const channel = await this.#adminOf(caller, input.channel_id);
      const now = this.#now();
      const admin = caller.agent;
      switch (input.op) {
        case 'rename': {
          if (input.name === undefined) throw new McpcpError('ERR_INVALID_ARGUMENT', 'rename needs name');
          const from = channel.name;
          channel.name = input.name;
          await this.#commitMessages(channel, { channel }, [
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
          this.#open(channel);
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
          await this.#commitMessages(
            channel,
            {
              channel,
              revokeInvites: [
                { slotId: slot.id, kind: 'rejoin' },
                { slotId: slot.id, kind: 'invite' },
              ],
              addInvites: [
                {
                  codeHash: hashCode(invite),
                  channelId: channel.id,
                  slotId: slot.id,
                  kind: 'invite',
                  createdAt: now,
                  usedAt: null,
                },
              ],
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
          this.#open(channel);
          channel.closedAt = now;
          await this.#detachBot(
            channel,
            'close',
            [{ ts: now, from: systemSender, kind: 'channel:close', body: { by: admin } }],
            { channel },
          );
          return { state: 'closed' };
        }
        case 'rotate_invites': {
          this.#open(channel);
          const invites: InviteRecord[] = [];
          const codes: Array<{ slot: string; label: string; code: string }> = [];
          const revoke: Array<{ slotId: string; kind: 'invite' }> = [{ slotId: '*', kind: 'invite' }];
          for (const slot of channel.slots) {
            if (slot.kind !== 'invite' || slot.agent !== null) continue;
            revoke.push({ slotId: slot.id, kind: 'invite' });
            const invite = newCode('inv_', 16);
            codes.push({ slot: slot.id, label: slot.label, code: invite });
            invites.push({
              codeHash: hashCode(invite),
              channelId: channel.id,
              slotId: slot.id,
              kind: 'invite',
              createdAt: now,
              usedAt: null,
            });
          }
          const channelInvite = newCode('inv_', 16);
          invites.push({
            codeHash: hashCode(channelInvite),
            channelId: channel.id,
            slotId: '*',
            kind: 'invite',
            createdAt: now,
            usedAt: null,
          });
          await this.#commitMessages(channel, { revokeInvites: revoke, addInvites: invites }, [
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
          if (this.#slotOf(channel, input.agent) === undefined) {
            throw new McpcpError('ERR_NOT_MEMBER', `${input.agent} holds no slot in ${channel.id}`);
          }
          channel.admin = input.agent;
          await this.#commitMessages(channel, { channel }, [
            { ts: now, from: systemSender, kind: 'admin:transfer', body: { from: admin, to: input.agent } },
          ]);
          return { admin: input.agent };
        }
        case 'remove_bot': {
          const bot = await this.store.getBot(channel.id);
          if (bot === undefined) throw new McpcpError('ERR_BOT_NOT_FOUND', 'channel has no bot');
          await this.#detachBot(
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
          this.#open(channel);
          const bot = await this.store.getBot(channel.id);
          if (bot !== undefined) {
            await this.#detachBot(
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
          const attached = await this.#bots.attach(channel.id, replacement!, input.bot_params ?? null);
          return { code_hash: attached.codeHash };
        }
      }
    });
  }

  async attachBot(
    caller: Caller,
    input: { channel_id: string } & BotSpec,
  ): Promise<{ code_hash: string; commitment: string }> {
    const bot = await this.#bots.resolve(input);
    return this.#serial(input.channel_id, async () => {
      const channel = await this.#adminOf(caller, input.channel_id);
      this.#open(channel);
      if ((await this.store.getBot(channel.id)) !== undefined) {
        throw new McpcpError('ERR_CONFLICT', 'channel already has a bot; use update_channel op replace_bot');
      }
      const attached = await this.#bots.attach(channel.id, bot, input.bot_params ?? null);
      return { code_hash: attached.codeHash, commitment: attached.commitment };
    });
  }

  async #commitMessages(
    channel: ChannelRecord,
    change: Parameters<ChannelStore['commit']>[1],
    messages: MessageDraft[],
  ): Promise<ChannelMessage[]> {
    const result = await this.store.commit(channel.id, { ...change, messages });
    this.#published(channel.id, result.messages);
    return result.messages;
  }

  // ---- bots and fairness ----------------------------------------------------------------------------------------

  /** Reveals the current seed, then removes the bot (remove/replace) or leaves it on a closed channel. */
  async #detachBot(
    channel: ChannelRecord,
    reason: 'close' | 'remove' | 'replace',
    messages: MessageDraft[],
    change: Parameters<ChannelStore['commit']>[1],
  ): Promise<void> {
    const bot = await this.store.getBot(channel.id);
    const drafts = [...messages];
    if (bot !== undefined) drafts.push(this.#bots.revealDraft(bot, reason));
    await this.#commitMessages(
      channel,
      { ...change, ...(bot !== undefined && reason !== 'close' ? { bot: null } : {}) },
      drafts,
    );
  }
}
