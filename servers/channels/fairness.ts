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
 * randomKey = HMAC-SHA256(key = secret seed bytes, message = RFC 8785 JSON of the player seeds [{slot, seed}] in
 * slot order). Before the first player move of an epoch the list is empty.
 */
export function deriveRandomKey(seedHex: string, players: readonly PlayerSeed[]): string {
  return createHmac('sha256', Buffer.from(seedHex, 'hex'))
    .update(canonicalJson(players.map(({ slot, seed }) => ({ slot, seed }))))
    .digest('hex');
}
