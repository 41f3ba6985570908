// Limits on what one bot hook may hand back to the channel, and the checks the host applies to each value that
// crosses the bridge. Pure functions; the sandbox validates nothing the host relies on.

export const botOutputLimits = Object.freeze({
  /** Posts per hook. */
  maxPosts: 100,
  /** A post's kind: 1..64 characters from this set. */
  kindPattern: /^[A-Za-z0-9_.:/-]{1,64}$/,
  /** A post body as JSON text, UTF-8 bytes. */
  maxBodyBytes: 64 * 1024,
  /** The bot state as JSON text, UTF-8 bytes. */
  maxStateBytes: 1024 * 1024,
  /** Bot source text, UTF-8 bytes. */
  maxSourceBytes: 512 * 1024,
  /** ctx.log lines kept per hook, and characters per line. */
  maxLogLines: 50,
  maxLogChars: 1000,
});

/** Returns a problem description, or undefined when the post is acceptable. */
export function checkPost(kind: unknown, bodyJson: unknown, postsSoFar: number): string | undefined {
  if (postsSoFar >= botOutputLimits.maxPosts)
    return `more than ${botOutputLimits.maxPosts} posts in one hook`;
  if (typeof kind !== 'string' || !botOutputLimits.kindPattern.test(kind)) {
    return 'post kind must be 1-64 characters of [A-Za-z0-9_.:/-]';
  }
  if (typeof bodyJson !== 'string') return 'post body is not JSON';
  if (Buffer.byteLength(bodyJson) > botOutputLimits.maxBodyBytes) {
    return `post body larger than ${botOutputLimits.maxBodyBytes} bytes of JSON`;
  }
  return undefined;
}

export function checkState(stateJson: unknown): string | undefined {
  if (typeof stateJson !== 'string') return 'state is not JSON';
  if (Buffer.byteLength(stateJson) > botOutputLimits.maxStateBytes) {
    return `state larger than ${botOutputLimits.maxStateBytes} bytes of JSON`;
  }
  return undefined;
}
