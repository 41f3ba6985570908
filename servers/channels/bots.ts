// The bot side of a channel: resolving bot code (inline or builtin), attaching it with its fairness commitment,
// running hooks in transcript order through a BotRunner, turning failures into bot:error, and the reveal/re-commit
// at game over. The channel service calls it from inside the channel's queue; it must not decide who may act.
import { McpcpError, type ErrorCode } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { BotRunner } from '../bot-runner/runner.ts';
import { commitmentOf, drawSeed, fairnessScheme, lockedRandomKey, openRandomKey } from './fairness.ts';
import { checkBody, checkBotPosts, eventOf, initEventOf, type ChannelLimits } from './rules.ts';
import type { BotRecord, ChannelRecord, ChannelStore } from './store/types.ts';
import { sha256Hex, type ChannelMessage, type MessageDraft, type Sender } from './transcript.ts';

export interface BuiltinBot {
  name: string;
  source: string;
  manifest: object;
}

export interface BotSpec {
  bot_code?: string | undefined;
  bot_preset?: string | undefined;
  bot_params?: unknown;
}

export interface ChannelBotsOptions {
  store: ChannelStore;
  runner: BotRunner;
  builtin: ((name: string) => BuiltinBot | undefined | Promise<BuiltinBot | undefined>) | undefined;
  limits: ChannelLimits;
  now: () => number;
  logger: Logger;
  /** Tells waiting readers and subscribers about appended messages. */
  publish: (channelId: string, messages: readonly ChannelMessage[]) => void;
  getChannel: (channelId: string) => Promise<ChannelRecord>;
}

const systemSender: Sender = { type: 'system' };

/**
 * Hook failures from outside the bot's code: the runner unreachable or a sandbox worker lost (ERR_BOT_UNAVAILABLE),
 * the wall clock (ERR_BOT_WALL_CLOCK; it depends on the machine). A re-run cannot reproduce them, so a verifier takes
 * such a bot:error as the server's statement; every other ERR_BOT_* code must reproduce exactly.
 */
export const unreproducibleHookCodes: ReadonlySet<string> = new Set<ErrorCode>([
  'ERR_BOT_UNAVAILABLE',
  'ERR_BOT_WALL_CLOCK',
]);

/**
 * The code a failed hook is recorded with, for the server and the verifier's re-run alike. The sandbox reports the
 * wall clock as ERR_BOT_TIMEOUT (also the deterministic instruction budget) and a lost worker as ERR_BOT_MEMORY, told
 * apart only by their fixed messages (servers/sandbox/bot-errors.ts, bot-worker-pool.ts); `runnerFailed` is a run
 * that rejected instead of answering.
 */
export interface HookFailure {
  code: string;
  /** The server's words. */
  message: string;
  /** Text the bot chose (a thrown error's), recorded as `bot_text`: quoted bot output, never the server's words. */
  botText?: string | undefined;
}

export function recordedHookFailure(
  error: HookFailure | undefined,
  runnerFailed = false,
): HookFailure | undefined {
  if (runnerFailed) return { code: 'ERR_BOT_UNAVAILABLE', message: 'bot runner failed' };
  if (error?.code === 'ERR_BOT_TIMEOUT' && error.message.includes('wall-clock limit'))
    return { code: 'ERR_BOT_WALL_CLOCK', message: error.message };
  if (error?.code === 'ERR_BOT_MEMORY' && /^the sandbox worker (stopped|did not start)/.test(error.message))
    return { code: 'ERR_BOT_UNAVAILABLE', message: error.message };
  return error;
}

/**
 * The body of a bot:error: the code and the server's message, and, apart from them, any text the bot chose, quoted
 * as `bot_text` (so "SYSTEM NOTICE: …" thrown by a bot reads as what the bot said, never as the server's notice).
 * Shared with the verifier, which must rebuild it byte for byte.
 */
export function botErrorBody(codeHash: string, hook: string, failure: HookFailure): Record<string, unknown> {
  return {
    code_hash: codeHash,
    hook,
    code: failure.code,
    message: failure.message.slice(0, 500),
    ...(failure.botText === undefined ? {} : { bot_text: failure.botText.slice(0, 500) }),
  };
}

export class ChannelBots {
  readonly #store: ChannelStore;
  readonly #runner: BotRunner;
  readonly #builtin: ChannelBotsOptions['builtin'];
  readonly #limits: ChannelLimits;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #publish: ChannelBotsOptions['publish'];
  readonly #getChannel: ChannelBotsOptions['getChannel'];

  constructor(options: ChannelBotsOptions) {
    this.#store = options.store;
    this.#runner = options.runner;
    this.#builtin = options.builtin;
    this.#limits = options.limits;
    this.#now = options.now;
    this.#log = options.logger;
    this.#publish = options.publish;
    this.#getChannel = options.getChannel;
  }

  get runnerVersion(): string {
    return this.#runner.version;
  }

  async resolve(spec: BotSpec): Promise<BuiltinBot> {
    if (spec.bot_params !== undefined) checkBody(spec.bot_params, this.#limits.maxBodyBytes);
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
    if (Buffer.byteLength(spec.bot_code) > this.#limits.maxSourceBytes) {
      throw new McpcpError('ERR_LIMIT', `bot_code is larger than ${this.#limits.maxSourceBytes} bytes`);
    }
    return { name: 'inline', source: spec.bot_code, manifest: { name: 'inline', builtin: false } };
  }

  /** Must run inside the channel's queue. Posts bot:attach (with the fairness commitment), then runs onInit. */
  async attach(channelId: string, spec: BuiltinBot, params: unknown): Promise<BotRecord> {
    const channel = await this.#getChannel(channelId);
    let slot = channel.slots.find((s) => s.kind === 'bot');
    const change: Parameters<ChannelStore['commit']>[1] = {};
    if (slot === undefined) {
      slot = { id: `s${channel.slots.length}`, kind: 'bot', label: 'bot', agent: null, seed: null };
      channel.slots.push(slot);
      change.channel = channel;
    }
    const codeHash = sha256Hex(spec.source);
    await this.#store.putBotSource(codeHash, spec.source);
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
        limits: this.#limits.bot,
        runner_version: this.#runner.version,
        slots: channel.slots.map(({ id, kind, label }) => ({ id, kind, label })),
        fairness: { epoch: 1, commitment, scheme: fairnessScheme },
      },
    };
    const bot: BotRecord = {
      channelId,
      slotId: slot.id,
      name: spec.name,
      codeHash,
      params,
      manifest: spec.manifest,
      limits: { ...this.#limits.bot },
      runnerVersion: this.#runner.version,
      state: null,
      epoch: 1,
      seed,
      commitment,
      lockedSeeds: null,
      randomKey: openRandomKey(seed),
      randomCounter: 0,
      // The attach message (appended by this commit) is the init trigger, not yet processed.
      processedSeq: (await this.#store.head(channelId)).seq,
      version: 0,
    };
    const result = await this.#store.commit(channelId, { ...change, bot, messages: [draft] });
    this.#publish(channelId, result.messages);
    const attachMessage = result.messages[0]!;
    // The attach message's seq names the bot instance in later fairness messages.
    await this.runHook(channelId, 'init', initEventOf(attachMessage), attachMessage);
    return (await this.#store.getBot(channelId)) ?? result.bot!;
  }

  revealDraft(bot: BotRecord, reason: string): MessageDraft {
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
  async runHook(
    channelId: string,
    hook: 'init' | 'join' | 'message',
    event: unknown,
    trigger: ChannelMessage,
  ): Promise<ChannelMessage[]> {
    let bot = await this.#store.getBot(channelId);
    if (bot === undefined) return [];
    const channel = await this.#getChannel(channelId);
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
        randomKey: lockedRandomKey(bot.seed, seeds),
        randomCounter: 0,
      };
      const saved = await this.#store.saveBot(locked, [
        {
          ts: this.#now(),
          from: systemSender,
          kind: 'fairness:lock',
          body: { code_hash: bot.codeHash, epoch: bot.epoch, seeds, trigger: trigger.seq },
        },
      ]);
      bot = saved.bot;
      out.push(...saved.messages);
      this.#publish(channelId, saved.messages);
    }
    const source = await this.#store.getBotSource(bot.codeHash);
    if (source === undefined) throw new McpcpError('ERR_INTERNAL', `bot source ${bot.codeHash} is missing`);
    const started = performance.now();
    let result: Awaited<ReturnType<BotRunner['run']>>;
    let runnerFailed = false;
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
      runnerFailed = true;
      result = { posts: [], state: bot.state, stateChanged: false, randomCounter: bot.randomCounter };
    }
    this.#log.debug({ channelId, hook, ms: performance.now() - started }, 'bot hook ran');
    const sender: Sender = { type: 'bot', slot: bot.slotId, code_hash: bot.codeHash };
    const drafts: MessageDraft[] = [];
    let next: BotRecord = bot;
    const problem = recordedHookFailure(result.error, runnerFailed) ?? checkBotPosts(result.posts);
    if (problem !== undefined) {
      // State and random counter stay as they were, whatever the failure: the verifier skips or re-runs it alike.
      drafts.push({
        ts: this.#now(),
        from: systemSender,
        kind: 'bot:error',
        body: botErrorBody(bot.codeHash, hook, problem),
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
        drafts.push(this.revealDraft(bot, 'game:over'));
        const seed = drawSeed();
        const commitment = commitmentOf(seed);
        next = {
          ...next,
          epoch: bot.epoch + 1,
          seed,
          commitment,
          lockedSeeds: null,
          randomKey: openRandomKey(seed),
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
    const saved = await this.#store.saveBot({ ...next, processedSeq: trigger.seq }, drafts);
    this.#publish(channelId, saved.messages);
    out.push(...saved.messages);
    return out;
  }

  /**
   * Runs the hooks of triggers the bot has not processed yet (a crash between appending a message and running its
   * hook), in transcript order. Must run inside the channel's queue, before any new write.
   */
  async catchUp(channelId: string): Promise<void> {
    const bot = await this.#store.getBot(channelId);
    if (bot?.processedSeq === undefined) return;
    const head = await this.#store.head(channelId);
    if (head.seq <= bot.processedSeq) return;
    const channel = await this.#store.getChannel(channelId);
    if (channel === undefined || channel.closedAt !== null) return;
    for (const m of await this.#store.readMessages(channelId, bot.processedSeq, 10_000)) {
      if (m.from.type === 'agent') {
        this.#log.warn({ channelId, seq: m.seq }, 'catching up a missed bot hook');
        await this.runHook(channelId, 'message', eventOf(m), m);
      } else if (m.from.type === 'system' && m.kind === 'member:join') {
        const body = m.body as { slot: string; agent: string };
        await this.runHook(channelId, 'join', { slot: body.slot, agent: body.agent }, m);
      } else if (m.from.type === 'system' && m.kind === 'bot:attach') {
        await this.runHook(channelId, 'init', initEventOf(m), m);
      }
    }
  }
}
