// Pure rules of channels shared by the server and the verifier: limits, what an agent or a bot may post, the event
// shapes bots see, slot specs and code generation. No storage, no clock.
import { randomBytes } from 'node:crypto';
import { McpcpError } from '../../lib/errors.ts';
import { botLimitDefaults } from '../sandbox/bot-limits.ts';
import { checkPost } from '../sandbox/bot-output.ts';
import { maxJsonDepth, nestsDeeperThan } from './message-rules.ts';
import type { BotLimits, SlotRecord } from './store/types.ts';
import { canonicalJson, sha256Hex, type MessageContent } from './transcript.ts';

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
  // What bot:attach announces is what the sandbox enforces by default (servers/sandbox/bot-limits.ts).
  bot: Object.freeze({
    memoryBytes: botLimitDefaults.memoryBytes,
    instructions: botLimitDefaults.instructions,
    wallMs: botLimitDefaults.wallMs,
  }),
});

export function newCode(prefix: string, bytes: number): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

export function hashCode(codeText: string): string {
  return sha256Hex(codeText);
}

/**
 * Throws ERR_LIMIT when body nests deeper than maxJsonDepth or its canonical JSON is larger than maxBytes,
 * ERR_INVALID_ARGUMENT when it is not JSON. Depth first: canonicalisation recurses, a 3,000-level body must not reach it.
 */
export function checkBody(body: unknown, maxBytes: number): void {
  if (nestsDeeperThan(body, maxJsonDepth)) {
    throw new McpcpError('ERR_LIMIT', `body nests deeper than ${maxJsonDepth} levels of arrays and objects`, {
      details: { depthLimit: maxJsonDepth },
    });
  }
  let size: number;
  try {
    size = Buffer.byteLength(canonicalJson(body ?? null));
  } catch {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'body must be JSON');
  }
  if (size > maxBytes) {
    throw new McpcpError('ERR_LIMIT', `body is ${size} bytes; the limit is ${maxBytes}`, {
      details: { size, limit: maxBytes },
    });
  }
}

/**
 * Bot output the channel accepts, checked again on what a runner returns (a runner in another process is not
 * trusted): the very checks the sandbox applies at each ctx.post (servers/sandbox/bot-output.ts), so a post the bot
 * was allowed to make is never refused here, and the verifier's re-run judges exactly as the server did.
 */
export function checkBotPosts(posts: unknown): { code: string; message: string } | undefined {
  if (!Array.isArray(posts)) return { code: 'ERR_BOT_OUTPUT', message: 'posts is not a list' };
  for (const [i, post] of (posts as Array<{ kind?: unknown; body?: unknown } | null>).entries()) {
    const problem = checkPost(post?.kind, post?.body ?? null, i);
    if (problem !== undefined) return { code: 'ERR_BOT_OUTPUT', message: problem };
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

export function parseSlots(specs: readonly string[], maxSlots: number): SlotRecord[] {
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
