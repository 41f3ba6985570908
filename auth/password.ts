// Password hashes for the people who sign in to the built-in authorization server: scrypt (RFC 7914) with a
// random salt, written as `scrypt$N$r$p$salt$hash` (base64url). `mcpcp users add` writes them into the config;
// the consent flow checks them. It must never log, store or return a password.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { McpcpError } from '../lib/errors.ts';

/** OWASP's scrypt floor (N=2^17, r=8, p=1): about 128 MiB and a few hundred ms per check. */
export const defaultScryptParams = { N: 131_072, r: 8, p: 1 } as const;
const keyLength = 32;
const saltLength = 16;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, keyLength, options, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

function memoryFor(params: { N: number; r: number }): number {
  return 128 * params.N * params.r * 2;
}

export async function hashPassword(
  password: string,
  params: { N: number; r: number; p: number } = defaultScryptParams,
): Promise<string> {
  if (typeof password !== 'string' || password.length < 8) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'a password needs at least 8 characters');
  }
  const salt = randomBytes(saltLength);
  const key = await scrypt(password, salt, { ...params, maxmem: memoryFor(params) });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

/** True when `password` matches `stored`; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Bounded so a hand-edited hash cannot make one check cost gigabytes.
  if (!(N >= 1024 && N <= 1_048_576 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== keyLength) return false;
  const key = await scrypt(password, salt, { N, r, p, maxmem: memoryFor({ N, r }) });
  return timingSafeEqual(key, expected);
}

/** The scrypt parameters of a stored hash, or the defaults when it is missing or malformed. */
export function scryptParamsOf(stored: string | undefined): { N: number; r: number; p: number } {
  const [, N, r, p] = (stored ?? '').split('$').map(Number);
  return N !== undefined && r !== undefined && p !== undefined && N >= 1024 && r >= 1 && p >= 1
    ? { N, r, p }
    : defaultScryptParams;
}

/** A hash of a random password: checked against when the user is unknown, so both cases take as long. */
export async function decoyHash(
  params: { N: number; r: number; p: number } = defaultScryptParams,
): Promise<string> {
  return hashPassword(randomBytes(24).toString('base64url'), params);
}
