// What every channel operation shares: the store, the per-channel write queue (writes to one channel run one at a
// time, after the bot caught up on triggers a crash left unprocessed, so the chain, the bot's state and hook order
// stay consistent), membership checks, committing system messages, signed heads, and fresh invite codes.
// The operations themselves live in membership.ts, messages.ts and admin.ts; ChannelService (service.ts) is the
// facade. This module must not hold any rule of a single operation.
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { createSilentLogger } from '../../lib/log.ts';
import type { BotRunner } from '../bot-runner/runner.ts';
import { ChannelBots, type BuiltinBot } from './bots.ts';
import type { ChannelNotifier } from './notifier.ts';
import { createChannelNotifier } from './notifier.ts';
import { checkBody, defaultChannelLimits, hashCode, newCode, type ChannelLimits } from './rules.ts';
import type { ChannelRecord, ChannelStore, InviteRecord, SlotRecord } from './store/types.ts';
import type { ChannelMessage, HeadClaims, MessageDraft, Sender } from './transcript.ts';

export interface Caller {
  agent: string;
}

export interface ChannelCoreOptions {
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

export interface InviteCode {
  slot: string;
  label: string;
  code: string;
}

export type StoreChange = Parameters<ChannelStore['commit']>[1];

export const systemSender: Sender = { type: 'system' };

/** The slot an agent holds (bots hold none). */
export function slotOf(channel: ChannelRecord, agent: string): SlotRecord | undefined {
  return channel.slots.find((slot) => slot.kind === 'invite' && slot.agent === agent);
}

export function assertOpen(channel: ChannelRecord): void {
  if (channel.closedAt !== null)
    throw new McpcpError('ERR_CHANNEL_CLOSED', `channel ${channel.id} is closed`);
}

/** The stored form of a code: only its hash is kept. */
export function inviteRecord(
  channelId: string,
  slotId: string,
  code: string,
  kind: InviteRecord['kind'],
  now: number,
): InviteRecord {
  return { codeHash: hashCode(code), channelId, slotId, kind, createdAt: now, usedAt: null };
}

/** A fresh invite per given slot, plus a channel-wide invite ('*', any free slot), in that order. */
export function newInvites(
  channelId: string,
  slots: readonly SlotRecord[],
  now: number,
): { records: InviteRecord[]; codes: InviteCode[]; channelInvite: string } {
  const codes = slots.map((slot) => ({ slot: slot.id, label: slot.label, code: newCode('inv_', 16) }));
  const channelInvite = newCode('inv_', 16);
  const records = [
    ...codes.map((c) => inviteRecord(channelId, c.slot, c.code, 'invite', now)),
    inviteRecord(channelId, '*', channelInvite, 'invite', now),
  ];
  return { records, codes, channelInvite };
}

export class ChannelCore {
  readonly store: ChannelStore;
  readonly notifier: ChannelNotifier;
  readonly limits: ChannelLimits;
  readonly bots: ChannelBots;
  readonly now: () => number;
  readonly #signHead: ((claims: HeadClaims) => Promise<string>) | undefined;
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #signed = new Map<string, { seq: number; jws: Promise<string> }>();

  constructor(options: ChannelCoreOptions) {
    this.store = options.store;
    this.#signHead = options.signHead;
    this.notifier = options.notifier ?? createChannelNotifier();
    this.limits = { ...defaultChannelLimits, ...options.limits };
    this.now = options.now ?? Date.now;
    // Appends by other replicas wake this one's waiting readers and subscribers (the notifier drops repeats).
    this.store.watchAppends?.({
      appended: (channelId, headSeq) => this.notifier.publish(channelId, headSeq),
      resync: () => void this.#resync(),
    });
    this.bots = new ChannelBots({
      store: options.store,
      runner: options.runner,
      builtin: options.builtinBot,
      limits: this.limits,
      now: this.now,
      logger: options.logger ?? createSilentLogger(),
      publish: (channelId, messages) => this.published(channelId, messages),
      getChannel: (channelId) => this.channel(channelId),
    });
  }

  /** Runs fn after every earlier write to the same channel has finished. */
  serial<T>(channelId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(channelId) ?? Promise.resolve();
    // Every write first lets the bot catch up on triggers a crash left unprocessed. A store shared by replicas
    // (PostgreSQL) also excludes the other processes for the whole step.
    const inner = (): Promise<T> => this.bots.catchUp(channelId).then(fn);
    const exclusive = this.store.exclusive?.bind(this.store);
    // Whether a later write to this channel is already queued behind this one.
    const queued = (): boolean => this.#queues.get(channelId) !== tail;
    const step = exclusive === undefined ? inner : (): Promise<T> => exclusive(channelId, inner, queued);
    const run = previous.then(step, step);
    const tail = run.catch(() => undefined);
    this.#queues.set(channelId, tail);
    void tail.then(() => {
      if (this.#queues.get(channelId) === tail) this.#queues.delete(channelId);
    });
    return run;
  }

  /**
   * After the append feed was interrupted (appends made meanwhile were never announced): every waiting reader and
   * 2025-era subscriber re-checks at once; then each channel this process has seen is announced again if it moved,
   * which reaches 2026-era listen streams (whose filters the server does not see) for the channels that changed only.
   */
  async #resync(): Promise<void> {
    this.notifier.resync();
    for (const channelId of this.notifier.knownChannels()) {
      const head = await this.store.head(channelId).catch(() => undefined);
      if (head !== undefined) this.notifier.publish(channelId, head.seq);
    }
  }

  published(channelId: string, messages: readonly ChannelMessage[]): void {
    const last = messages.at(-1);
    if (last !== undefined) this.notifier.publish(channelId, last.seq);
  }

  async channel(channelId: string): Promise<ChannelRecord> {
    const channel = await this.store.getChannel(channelId);
    if (channel === undefined) throw new McpcpError('ERR_CHANNEL_NOT_FOUND', `no channel ${channelId}`);
    return channel;
  }

  /** Readers: slot holders and the admin. */
  async readable(caller: Caller, channelId: string): Promise<ChannelRecord> {
    const channel = await this.channel(channelId);
    if (channel.admin !== caller.agent && slotOf(channel, caller.agent) === undefined) {
      throw new McpcpError('ERR_NOT_MEMBER', `${caller.agent} is not a member of ${channelId}`);
    }
    return channel;
  }

  async adminOf(caller: Caller, channelId: string): Promise<ChannelRecord> {
    const channel = await this.readable(caller, channelId);
    if (channel.admin !== caller.agent) {
      throw new McpcpError('ERR_NOT_ADMIN', `only the admin (${channel.admin}) may do this`);
    }
    return channel;
  }

  checkBody(body: unknown): void {
    checkBody(body, this.limits.maxBodyBytes);
  }

  async commitMessages(
    channel: ChannelRecord,
    change: StoreChange,
    messages: MessageDraft[],
  ): Promise<ChannelMessage[]> {
    const result = await this.store.commit(channel.id, { ...change, messages });
    this.published(channel.id, result.messages);
    return result.messages;
  }

  /** Reveals the current seed, then removes the bot (remove/replace) or leaves it on a closed channel. */
  async detachBot(
    channel: ChannelRecord,
    reason: 'close' | 'remove' | 'replace',
    messages: MessageDraft[],
    change: StoreChange,
  ): Promise<void> {
    const bot = await this.store.getBot(channel.id);
    const drafts = [...messages];
    if (bot !== undefined) drafts.push(this.bots.revealDraft(bot, reason));
    await this.commitMessages(
      channel,
      { ...change, ...(bot !== undefined && reason !== 'close' ? { bot: null } : {}) },
      drafts,
    );
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
        ts: this.now(),
      });
      entry = { seq: head.seq, jws };
      this.#signed.set(channelId, entry);
      jws.catch(() => {
        if (this.#signed.get(channelId) === entry) this.#signed.delete(channelId);
      });
    }
    return { ...head, jws: await entry.jws };
  }
}
