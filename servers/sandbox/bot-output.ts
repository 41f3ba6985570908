// Limits on what one bot hook may hand back to the channel, and the checks applied to each post and state. The
// sandbox applies them at the bot's own ctx.post / ctx.setState call (so a bot can catch a refusal and carry on);
// the channel applies the same functions again to what a runner returns (servers/channels/rules.ts), so the two can
// never disagree. Pure functions over host values; the kind and depth rules are the channel's (message-rules.ts).
import { kindProblem, maxJsonDepth, nestsDeeperThan } from '../channels/message-rules.ts';

export const botOutputLimits = Object.freeze({
  /** Posts per hook. */
  maxPosts: 64,
  /** A post body as JSON text, UTF-8 bytes (the channel's default body limit). */
  maxBodyBytes: 16 * 1024,
  /** The bot state as JSON text, UTF-8 bytes. */
  maxStateBytes: 1024 * 1024,
  /** Arrays and objects nest at most this deep, in posts and state alike. */
  maxDepth: maxJsonDepth,
  /** Bot source text, UTF-8 bytes. */
  maxSourceBytes: 512 * 1024,
  /** ctx.log lines kept per hook, and characters per line. */
  maxLogLines: 50,
  maxLogChars: 1000,
});

/** Why the next post (kind, already-copied body) is refused, or undefined when it is acceptable. */
export function checkPost(kind: unknown, body: unknown, postsSoFar: number): string | undefined {
  if (postsSoFar >= botOutputLimits.maxPosts)
    return `more than ${botOutputLimits.maxPosts} posts in one hook`;
  const problem = kindProblem(kind);
  if (problem !== undefined) return `post ${problem}`;
  return sizeProblem('post body', body, botOutputLimits.maxBodyBytes);
}

export function checkState(state: unknown): string | undefined {
  return sizeProblem('state', state, botOutputLimits.maxStateBytes);
}

/** The texts match what copyOut (bot-copy-out.ts) reports for the same value, prefixed with `what`. */
function sizeProblem(what: string, value: unknown, maxBytes: number): string | undefined {
  if (nestsDeeperThan(value, botOutputLimits.maxDepth))
    return `${what} nests deeper than ${botOutputLimits.maxDepth} levels of arrays and objects`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch {
    text = undefined;
  }
  if (typeof text !== 'string') return `${what} is not JSON`;
  if (Buffer.byteLength(text) > maxBytes) return `${what} larger than ${maxBytes} bytes of JSON`;
  return undefined;
}
