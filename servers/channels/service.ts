// The channel service: every rule of channels (membership, invites, admin ops, transcript writes, bot hooks and the
// fairness protocol). Transport-agnostic: MCP tools in tools.ts are a thin adapter over it. All writes to one channel
// run one at a time (a per-channel queue), so the chain, the bot's state and hook order stay consistent.
import { randomBytes } from 'node:crypto';
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { createSilentLogger } from '../../lib/log.ts';
import type { BotRunner } from '../bot-runner/runner.ts';
import { commitmentOf, deriveRandomKey, drawSeed } from './fairness.ts';
import type { ChannelNotifier } from './notifier.ts';
import { createChannelNotifier } from './notifier.ts';
import type {
  BotLimits,
  BotRecord,
  ChannelRecord,
  ChannelStore,
  InviteRecord,
  SlotRecord,
} from './store/types.ts';
import {
  canonicalJson,
  sha256Hex,
  type ChannelMessage,
  type HeadClaims,
  type MessageContent,
  type MessageDraft,
  type Sender,
} from './transcript.ts';

export interface Caller {
  agent: string;
}

export interface BuiltinBot {
  name: string;
  source: string;
  manifest: object;
}

export interface ChannelLimits {
  maxBodyBytes: number;
  maxSlots: number;
  maxSourceBytes: number;
  maxWaitMs: number;
  bot: BotLimits;
}

export const defaultChannelLimits: ChannelLimits = Object.freeze({
  maxBodyBytes: 16 * 1024,
  maxSlots: 16,
  maxSourceBytes: 256 * 1024,
  maxWaitMs: 25_000,
  bot: Object.freeze({ memoryBytes: 32 * 1024 * 1024, instructions: 20_000_000, wallMs: 5_000 }),
});

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

export interface BotSpec {
  bot_code?: string | undefined;
  bot_preset?: string | undefined;
  bot_params?: unknown;
}

export interface SignedHead {
  seq: number;
  hash: string;
  jws: string | null;
}

const agentKindPattern = /^[A-Za-z0-9_.:-]{1,64}$/;
const systemSender: Sender = { type: 'system' };

function code(prefix: string, bytes: number): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

export function hashCode(codeText: string): string {
  return sha256Hex(codeText);
}

export class ChannelService {
  readonly store: ChannelStore;
  readonly notifier: ChannelNotifier;
  readonly limits: ChannelLimits;
  readonly #runner: BotRunner;
  readonly #signHead: ((claims: HeadClaims) => Promise<string>) | undefined;
  readonly #builtin: ChannelServiceOptions['builtinBot'];
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #signed = new Map<string, { seq: number; jws: Promise<string> }>();

  constructor(options: ChannelServiceOptions) {
    this.store = options.store;
    this.#runner = options.runner;
    this.#signHead = options.signHead;
    this.#builtin = options.builtinBot;
    this.notifier = options.notifier ?? createChannelNotifier();
    this.limits = { ...defaultChannelLimits, ...options.limits };
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? createSilentLogger();
  }

  get runnerVersion(): string {
    return this.#runner.version;
  }

  /** Runs fn after every earlier write to the same channel has finished. */
  #serial<T>(channelId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(channelId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
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
    let size: number;
    try {
      size = Buffer.byteLength(canonicalJson(body ?? null));
    } catch {
      throw new McpcpError('ERR_INVALID_ARGUMENT', 'body must be JSON');
    }
    if (size > this.limits.maxBodyBytes) {
      throw new McpcpError('ERR_LIMIT', `body is ${size} bytes; the limit is ${this.limits.maxBodyBytes}`, {
        details: { size, limit: this.limits.maxBodyBytes },
      });
    }
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
    const bot = wantsBot ? await this.#resolveBot(input) : undefined;
    const now = this.#now();
    const channel: ChannelRecord = {
      id: code('chn_', 12),
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
      const invite = code('inv_', 16);
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
    const channelInvite = code('inv_', 16);
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
      await this.#serial(channel.id, () => this.#attach(channel.id, bot, input.bot_params ?? null));
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
      const rejoin = code('rej_', 24);
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
        await this.#hook(channel.id, 'join', { slot: slot.id, agent: caller.agent }, joinMessage);
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
      const replies = await this.#hook(channel.id, 'message', eventOf(message), message);
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
    const replacement = input.op === 'replace_bot' ? await this.#resolveBot(input) : undefined;
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
          const invite = code('inv_', 16);
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
            const invite = code('inv_', 16);
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
          const channelInvite = code('inv_', 16);
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
          const attached = await this.#attach(channel.id, replacement!, input.bot_params ?? null);
          return { code_hash: attached.codeHash };
        }
      }
    });
  }

  async attachBot(
    caller: Caller,
    input: { channel_id: string } & BotSpec,
  ): Promise<{ code_hash: string; commitment: string }> {
    const bot = await this.#resolveBot(input);
    return this.#serial(input.channel_id, async () => {
      const channel = await this.#adminOf(caller, input.channel_id);
      this.#open(channel);
      if ((await this.store.getBot(channel.id)) !== undefined) {
        throw new McpcpError('ERR_CONFLICT', 'channel already has a bot; use update_channel op replace_bot');
      }
      const attached = await this.#attach(channel.id, bot, input.bot_params ?? null);
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

  async #resolveBot(spec: BotSpec): Promise<BuiltinBot> {
    if (spec.bot_params !== undefined) this.#checkBody(spec.bot_params);
    if (spec.bot_code !== undefined && spec.bot_preset !== undefined) {
      throw new McpcpError('ERR_INVALID_ARGUMENT', 'give bot_code or bot_preset, not both');
    }
    if (spec.bot_preset !== undefined) {
      const builtin = await this.#builtin?.(spec.bot_preset);
      if (builtin === undefined)
        throw new McpcpError('ERR_BOT_NOT_FOUND', `no builtin bot ${spec.bot_preset}`);
      return builtin;
    }
    if (spec.bot_code === undefined)
      throw new McpcpError('ERR_INVALID_ARGUMENT', 'give bot_code or bot_preset');
    if (Buffer.byteLength(spec.bot_code) > this.limits.maxSourceBytes) {
      throw new McpcpError('ERR_LIMIT', `bot_code is larger than ${this.limits.maxSourceBytes} bytes`);
    }
    return { name: 'inline', source: spec.bot_code, manifest: { name: 'inline', builtin: false } };
  }

  /** Must run inside the channel's queue. Posts bot:attach (with the fairness commitment), then runs onInit. */
  async #attach(channelId: string, spec: BuiltinBot, params: unknown): Promise<BotRecord> {
    const channel = await this.#channel(channelId);
    let slot = channel.slots.find((s) => s.kind === 'bot');
    const change: Parameters<ChannelStore['commit']>[1] = {};
    if (slot === undefined) {
      slot = { id: `s${channel.slots.length}`, kind: 'bot', label: 'bot', agent: null, seed: null };
      channel.slots.push(slot);
      change.channel = channel;
    }
    const codeHash = sha256Hex(spec.source);
    await this.store.putBotSource(codeHash, spec.source);
    const seed = drawSeed();
    const commitment = commitmentOf(seed);
    const now = this.#now();
    const draft: MessageDraft = {
      ts: now,
      from: systemSender,
      kind: 'bot:attach',
      body: {
        slot: slot.id,
        name: spec.name,
        code_hash: codeHash,
        manifest: spec.manifest,
        params,
        limits: this.limits.bot,
        runner_version: this.#runner.version,
        slots: channel.slots.map(({ id, kind, label }) => ({ id, kind, label })),
        fairness: { epoch: 1, commitment },
      },
    };
    const bot: BotRecord = {
      channelId,
      slotId: slot.id,
      name: spec.name,
      codeHash,
      params,
      manifest: spec.manifest,
      limits: { ...this.limits.bot },
      runnerVersion: this.#runner.version,
      state: null,
      epoch: 1,
      seed,
      commitment,
      lockedSeeds: null,
      randomKey: deriveRandomKey(seed, []),
      randomCounter: 0,
      version: 0,
    };
    const result = await this.store.commit(channelId, { ...change, bot, messages: [draft] });
    this.#published(channelId, result.messages);
    const attachMessage = result.messages[0]!;
    // The attach message's seq names the bot instance in later fairness messages.
    await this.#hook(channelId, 'init', initEventOf(attachMessage), attachMessage);
    return (await this.store.getBot(channelId)) ?? result.bot!;
  }

  /** Reveals the current seed, then removes the bot (remove/replace) or leaves it on a closed channel. */
  async #detachBot(
    channel: ChannelRecord,
    reason: 'close' | 'remove' | 'replace',
    messages: MessageDraft[],
    change: Parameters<ChannelStore['commit']>[1],
  ): Promise<void> {
    const bot = await this.store.getBot(channel.id);
    const drafts = [...messages];
    if (bot !== undefined) drafts.push(this.#revealDraft(bot, reason));
    await this.#commitMessages(
      channel,
      { ...change, ...(bot !== undefined && reason !== 'close' ? { bot: null } : {}) },
      drafts,
    );
  }

  #revealDraft(bot: BotRecord, reason: string): MessageDraft {
    return {
      ts: this.#now(),
      from: systemSender,
      kind: 'fairness:reveal',
      body: {
        code_hash: bot.codeHash,
        epoch: bot.epoch,
        seed: bot.seed,
        commitment: bot.commitment,
        valid: commitmentOf(bot.seed) === bot.commitment,
        reason,
      },
    };
  }

  /**
   * Runs one hook for a trigger message. Must run inside the channel's queue. A hook failure becomes a `bot:error`
   * system message and leaves state and random counter unchanged; the channel carries on.
   */
  async #hook(
    channelId: string,
    hook: 'init' | 'join' | 'message',
    event: unknown,
    trigger: ChannelMessage,
  ): Promise<ChannelMessage[]> {
    let bot = await this.store.getBot(channelId);
    if (bot === undefined) return [];
    const channel = await this.#channel(channelId);
    if (channel.closedAt !== null) return [];
    const out: ChannelMessage[] = [];
    if (hook === 'message' && bot.lockedSeeds === null) {
      // First player move of the epoch: fix the player seeds mixed into the key, publicly.
      const seeds = channel.slots
        .filter((s) => s.kind === 'invite' && s.agent !== null && s.seed !== null)
        .map((s) => ({ slot: s.id, seed: s.seed! }));
      const locked: BotRecord = {
        ...bot,
        lockedSeeds: seeds,
        randomKey: deriveRandomKey(bot.seed, seeds),
        randomCounter: 0,
      };
      const saved = await this.store.saveBot(locked, [
        {
          ts: this.#now(),
          from: systemSender,
          kind: 'fairness:lock',
          body: { code_hash: bot.codeHash, epoch: bot.epoch, seeds, trigger: trigger.seq },
        },
      ]);
      bot = saved.bot;
      out.push(...saved.messages);
      this.#published(channelId, saved.messages);
    }
    const source = await this.store.getBotSource(bot.codeHash);
    if (source === undefined) throw new McpcpError('ERR_INTERNAL', `bot source ${bot.codeHash} is missing`);
    const started = performance.now();
    let result: Awaited<ReturnType<BotRunner['run']>>;
    try {
      result = await this.#runner.run({
        source,
        params: bot.params,
        hook,
        event,
        state: bot.state,
        randomKey: bot.randomKey,
        randomCounter: bot.randomCounter,
        now: trigger.ts,
        limits: bot.limits,
      });
    } catch (error) {
      this.#log.error({ err: error, channelId, hook }, 'bot runner failed');
      result = {
        posts: [],
        state: bot.state,
        stateChanged: false,
        randomCounter: bot.randomCounter,
        error: { code: 'ERR_BOT_THROWN', message: 'bot runner failed' },
      };
    }
    this.#log.debug({ channelId, hook, ms: performance.now() - started }, 'bot hook ran');
    const sender: Sender = { type: 'bot', slot: bot.slotId, code_hash: bot.codeHash };
    const drafts: MessageDraft[] = [];
    let next: BotRecord = bot;
    const problem = result.error ?? checkBotPosts(result.posts, this.limits.maxBodyBytes);
    if (problem !== undefined) {
      drafts.push({
        ts: this.#now(),
        from: systemSender,
        kind: 'bot:error',
        body: { code_hash: bot.codeHash, hook, code: problem.code, message: problem.message.slice(0, 500) },
        reply_to: trigger.seq,
      });
    } else {
      for (const post of result.posts)
        drafts.push({
          ts: this.#now(),
          from: sender,
          kind: post.kind,
          body: post.body ?? null,
          reply_to: trigger.seq,
        });
      next = {
        ...bot,
        state: result.stateChanged ? result.state : bot.state,
        randomCounter: result.randomCounter,
      };
      if (result.posts.some((post) => post.kind === 'game:over')) {
        // Game over: reveal this epoch's seed, then commit to a fresh one before anyone moves again.
        drafts.push(this.#revealDraft(bot, 'game:over'));
        const seed = drawSeed();
        const commitment = commitmentOf(seed);
        next = {
          ...next,
          epoch: bot.epoch + 1,
          seed,
          commitment,
          lockedSeeds: null,
          randomKey: deriveRandomKey(seed, []),
          randomCounter: 0,
        };
        drafts.push({
          ts: this.#now(),
          from: systemSender,
          kind: 'fairness:commit',
          body: { code_hash: bot.codeHash, epoch: next.epoch, commitment },
        });
      }
    }
    const saved = await this.store.saveBot(next, drafts);
    this.#published(channelId, saved.messages);
    out.push(...saved.messages);
    return out;
  }
}

/** Bot output the channel accepts: at most 64 posts per hook, short kinds, JSON bodies within the size limit. */
export function checkBotPosts(
  posts: unknown,
  maxBodyBytes: number = defaultChannelLimits.maxBodyBytes,
): { code: string; message: string } | undefined {
  if (!Array.isArray(posts)) return { code: 'ERR_BOT_OUTPUT', message: 'posts is not a list' };
  if (posts.length > 64) return { code: 'ERR_BOT_OUTPUT', message: 'a hook may post at most 64 messages' };
  for (const post of posts as Array<{ kind?: unknown; body?: unknown } | null>) {
    if (typeof post?.kind !== 'string' || !agentKindPattern.test(post.kind)) {
      return { code: 'ERR_BOT_OUTPUT', message: 'post kind must be a short name' };
    }
    let size: number;
    try {
      size = Buffer.byteLength(canonicalJson(post.body ?? null));
    } catch {
      return { code: 'ERR_BOT_OUTPUT', message: 'post body is not JSON' };
    }
    if (size > maxBodyBytes)
      return { code: 'ERR_BOT_OUTPUT', message: `post body is ${size} bytes; the limit is ${maxBodyBytes}` };
  }
  return undefined;
}

/** What a bot's onMessage sees (the sandbox's documented event shape), derived only from the transcript. */
export function eventOf(message: MessageContent): unknown {
  const from = message.from;
  return {
    seq: message.seq,
    ts: message.ts,
    slot: from.type === 'agent' ? from.slot : null,
    agent: from.type === 'agent' ? from.agent : null,
    kind: message.kind,
    body: message.body,
  };
}

/** What onInit sees: the channel id and the slots announced in bot:attach. */
export function initEventOf(attach: MessageContent): unknown {
  const body = attach.body as { slots?: unknown };
  return { channelId: attach.channel_id, slots: body.slots ?? [] };
}

function parseSlots(specs: readonly string[], maxSlots: number): SlotRecord[] {
  if (specs.length === 0) throw new McpcpError('ERR_INVALID_ARGUMENT', 'slots must not be empty');
  if (specs.length > maxSlots) throw new McpcpError('ERR_LIMIT', `at most ${maxSlots} slots`);
  const slots: SlotRecord[] = [];
  for (const spec of specs) {
    const match = /^(bot|invite):([A-Za-z0-9_.-]{1,32})$/.exec(spec);
    if (match === null) {
      throw new McpcpError(
        'ERR_INVALID_ARGUMENT',
        `slot ${JSON.stringify(spec)} must look like "bot:<name>" or "invite:<name>"`,
      );
    }
    slots.push({ id: '', kind: match[1] as 'bot' | 'invite', label: match[2]!, agent: null, seed: null });
  }
  if (slots.filter((slot) => slot.kind === 'bot').length > 1) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'a channel has at most one bot slot');
  }
  if (!slots.some((slot) => slot.kind === 'invite'))
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'a channel needs at least one invite slot');
  return slots;
}
