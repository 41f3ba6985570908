// The channel's fairness protocol (commit, mix, reveal), as pure functions. See servers/channels/README.md.
// It must not store anything or pick the moment of a step; the channel service does that.
import { createHmac, randomBytes } from 'node:crypto';
import { canonicalJson, sha256Hex } from './transcript.ts';

export interface PlayerSeed {
  slot: string;
  seed: string;
}

/** A fresh 32-byte secret seed, hex. */
export function drawSeed(): string {
  return randomBytes(32).toString('hex');
}

/** commitment = sha256(the 32 seed bytes), hex. Posted before any player acts. */
export function commitmentOf(seedHex: string): string {
  return sha256Hex(Buffer.from(seedHex, 'hex'));
}

export function isValidSeed(seedHex: unknown): seedHex is string {
  return typeof seedHex === 'string' && /^[0-9a-f]{64}$/.test(seedHex);
}

/**
 * How random keys are derived; announced in bot:attach (`fairness.scheme`) so a verifier rebuilds the same keys.
 * Scheme 2 names the stage in the HMAC message:
 *   before the first player move   K_open   = HMAC-SHA256(S, RFC8785({"stage":"open"}))
 *   from the lock on               K_locked = HMAC-SHA256(S, RFC8785({"seeds":[{slot, seed}, …],"stage":"locked"}))
 * so the stream after the lock never replays the one before it, with or without player seeds (the counter restarts
 * at 0 on a different key). Scheme 1 (transcripts that announce no scheme) used HMAC-SHA256(S, RFC8785(seeds)) for
 * both, so with no player seeds the draws after the lock repeated the onInit draws; a verifier still rebuilds it.
 */
export const fairnessScheme = 2;

export type FairnessScheme = 1 | 2;

/** The key before the first player move of an epoch (onInit, onJoin draws). */
export function openRandomKey(seedHex: string, scheme: FairnessScheme = fairnessScheme): string {
  return hmacOf(seedHex, scheme === 1 ? [] : { stage: 'open' });
}

/** The key from the lock on: the player seeds of the current slot holders, in slot order, mixed in. */
export function lockedRandomKey(
  seedHex: string,
  players: readonly PlayerSeed[],
  scheme: FairnessScheme = fairnessScheme,
): string {
  const seeds = players.map(({ slot, seed }) => ({ slot, seed }));
  return hmacOf(seedHex, scheme === 1 ? seeds : { stage: 'locked', seeds });
}

function hmacOf(seedHex: string, message: unknown): string {
  return createHmac('sha256', Buffer.from(seedHex, 'hex')).update(canonicalJson(message)).digest('hex');
}
