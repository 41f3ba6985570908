// The storage contract of the channels server. One interface, two implementations (SQLite for one process,
// PostgreSQL for replicas); both pass tests/unit/channels/store-suite.ts. Implementations are dumb and atomic: every
// method is one transaction; rules (who may do what) live in the channel service, never here.
import type { ChannelMessage, MessageDraft } from '../transcript.ts';

export interface SlotRecord {
  id: string;
  kind: 'bot' | 'invite';
  label: string;
  /** Agent holding the slot (invite slots), null while free. */
  agent: string | null;
  /** Seed the player contributed when joining (fairness), if any. */
  seed: string | null;
}

export interface ChannelRecord {
  id: string;
  name: string;
  admin: string;
  createdAt: number;
  closedAt: number | null;
  slots: SlotRecord[];
  /** Optimistic-concurrency version; commitChannel compares and increments it. */
  version: number;
}

/** An invite code or rejoin token, stored only as sha256 of the code. */
export interface InviteRecord {
  codeHash: string;
  channelId: string;
  slotId: string;
  kind: 'invite' | 'rejoin';
  createdAt: number;
  usedAt: number | null;
}

export interface BotLimits {
  memoryBytes: number;
  instructions: number;
  wallMs: number;
}

/** The bot attached to a channel, its persisted state and its fairness secrets. */
export interface BotRecord {
  channelId: string;
  slotId: string;
  name: string;
  codeHash: string;
  params: unknown;
  manifest: unknown;
  limits: BotLimits;
  runnerVersion: string;
  state: unknown;
  /** Fairness epoch: 1 at attach, +1 after each reveal. */
  epoch: number;
  /** Secret seed of the current epoch (hex), revealed at game over, close or detach. */
  seed: string;
  commitment: string;
  /** Player seeds mixed into the key, fixed at the first player move of the epoch; null before. */
  lockedSeeds: Array<{ slot: string; seed: string }> | null;
  /** HMAC key of ctx.random for the current phase (hex). */
  randomKey: string;
  randomCounter: number;
  /**
   * Seq of the last message whose hook has run (hooks run in transcript order). A crash between a trigger and its
   * hook leaves it behind the head; the channel catches up before its next write.
   */
  processedSeq?: number;
  /** Optimistic-concurrency version of this record (compare-and-swap on every hook). */
  version: number;
}

export interface ChannelCommit {
  /** New channel record; its `version` must equal the stored one (it is stored as version + 1). */
  channel?: ChannelRecord;
  /** Invites to mark used; fails with ERR_INVITE_INVALID if one is unknown or already used. */
  consumeInvites?: string[];
  /** Invalidate every unused invite of these kinds for these slots (rotation, kick). */
  revokeInvites?: Array<{ slotId: string; kind: 'invite' | 'rejoin' }>;
  addInvites?: InviteRecord[];
  /** Set (with compare-and-swap on `version` when it exists) or remove (null) the bot. */
  bot?: BotRecord | null;
  messages?: MessageDraft[];
}

export interface ChannelCommitResult {
  channel: ChannelRecord;
  bot: BotRecord | null;
  messages: ChannelMessage[];
}

export interface ChannelStore {
  createChannel(
    channel: ChannelRecord,
    invites: InviteRecord[],
    messages: MessageDraft[],
  ): Promise<ChannelMessage[]>;
  getChannel(id: string): Promise<ChannelRecord | undefined>;
  /** Channels where the agent is admin or holds a slot. */
  listChannels(agent: string): Promise<ChannelRecord[]>;
  /** One atomic unit of work on a channel (see ChannelCommit). Throws ERR_CONFLICT on a version mismatch. */
  commit(channelId: string, change: ChannelCommit): Promise<ChannelCommitResult>;
  findInvite(codeHash: string): Promise<InviteRecord | undefined>;

  /**
   * Appends messages to the chain. With `clientMsgId`, a repeat of the same (channel, agent, clientMsgId) returns the
   * first stored messages instead of appending again.
   */
  append(
    channelId: string,
    drafts: MessageDraft[],
    idempotency?: { agent: string; clientMsgId: string },
  ): Promise<{ messages: ChannelMessage[]; duplicate: boolean }>;
  readMessages(channelId: string, afterSeq: number, limit: number): Promise<ChannelMessage[]>;
  head(channelId: string): Promise<{ seq: number; hash: string }>;

  getBot(channelId: string): Promise<BotRecord | undefined>;
  /** Compare-and-swap of the bot record (state, counter, epoch) plus messages, atomically. */
  saveBot(bot: BotRecord, messages: MessageDraft[]): Promise<{ bot: BotRecord; messages: ChannelMessage[] }>;

  putBotSource(codeHash: string, source: string): Promise<void>;
  getBotSource(codeHash: string): Promise<string | undefined>;

  getCursor(channelId: string, agent: string): Promise<number>;
  setCursor(channelId: string, agent: string, seq: number): Promise<void>;

  /**
   * Runs one write step of a channel (the service's per-channel queue step) excluding every other process that
   * shares this storage. Absent when one process owns the storage (SQLite): the in-process queue suffices then.
   * `queued` tells whether another step on the channel already waits behind this one in this process (the store
   * may then keep its lock for that step instead of giving it back).
   */
  exclusive?<T>(channelId: string, fn: () => Promise<T>, queued?: () => boolean): Promise<T>;
  /**
   * Appends committed by other processes sharing this storage (PostgreSQL: LISTEN/NOTIFY), and `resync` after the
   * feed was interrupted (notifications may have been missed). Absent when only this process writes.
   */
  watchAppends?(listener: AppendWatcher): () => void;
  /** Whether the storage answers now (readiness); absent means always. */
  ping?(): Promise<boolean>;

  close(): Promise<void>;
}

export interface AppendWatcher {
  appended(channelId: string, headSeq: number): void;
  resync(): void;
}
