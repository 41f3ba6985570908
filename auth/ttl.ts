// Parses operator-friendly lifetimes ('90', '3600s', '30m', '1h', '2d') into whole seconds.
import { McpcpError } from '../lib/errors.ts';

const unitSeconds: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };
/** Longest lifetime accepted for an agent token: one year. */
export const maxTtlSeconds = 366 * 86400;

export function parseTtl(text: string): number {
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(text);
  const amount = match?.[1];
  if (amount === undefined) {
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      `invalid ttl ${JSON.stringify(text)}: use a number with s, m, h or d (e.g. 30m, 1h, 2d)`,
    );
  }
  const seconds = Number(amount) * (unitSeconds[(match?.[2] ?? '').toLowerCase() || 's'] ?? 1);
  return checkTtlSeconds(seconds);
}

export function checkTtlSeconds(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds <= 0 || seconds > maxTtlSeconds) {
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      `token lifetime must be 1..${maxTtlSeconds} seconds, got ${seconds}`,
    );
  }
  return seconds;
}
