// Indexes over a transcript that the bot replay needs before it walks the messages: the seeds revealed per bot
// instance and epoch (only those matching their commitment), the replies to each trigger, and message predicates.
// Pure functions of the message list.
import { commitmentOf } from '../../servers/channels/fairness.ts';
import type { ChannelMessage } from '../../servers/channels/transcript.ts';

/** Key of a bot instance's epoch: the instance is named by its attach message's seq. */
export const epochKey = (attachSeq: number, epoch: unknown): string => `${attachSeq}:${String(epoch)}`;

/**
 * Seeds are only known once revealed: collect them per bot instance (attach seq) and epoch first.
 * A seed that does not match its commitment is never used (the main pass reports it at the reveal).
 */
export function revealedSeeds(messages: readonly ChannelMessage[]): Map<string, string> {
  const revealed = new Map<string, string>();
  const committed = new Map<string, string>();
  let instance = 0;
  for (const m of messages) {
    if (m.from.type !== 'system') continue;
    const body = (m.body ?? {}) as {
      epoch?: number;
      seed?: string;
      commitment?: string;
      fairness?: { commitment?: string };
    };
    if (m.kind === 'bot:attach') {
      instance = m.seq;
      committed.set(epochKey(instance, 1), String(body.fairness?.commitment));
    }
    if (m.kind === 'fairness:commit') committed.set(epochKey(instance, body.epoch), String(body.commitment));
    const key = epochKey(instance, body.epoch);
    if (m.kind === 'fairness:reveal' && isSeed(body.seed) && commitmentOf(body.seed) === committed.get(key)) {
      revealed.set(key, body.seed);
    }
  }
  return revealed;
}

/** Messages by the seq they reply to. */
export function repliesByTrigger(messages: readonly ChannelMessage[]): Map<number, ChannelMessage[]> {
  const replies = new Map<number, ChannelMessage[]>();
  for (const m of messages) {
    if (m.reply_to === undefined) continue;
    const list = replies.get(m.reply_to) ?? [];
    list.push(m);
    replies.set(m.reply_to, list);
  }
  return replies;
}

export function isSeed(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

/** A hook failure recorded by the server (agents may use any kind, so the sender matters). */
export function isBotError(m: ChannelMessage): boolean {
  return m.from.type === 'system' && m.kind === 'bot:error';
}
