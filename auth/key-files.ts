// File layout of a key folder: `jwks.json` (public keys, newest first) and `private-<kid>.pem` (mode 0600).
// Reads and writes those files atomically; it must not generate keys or sign anything.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JSONWebKeySet, JWK } from 'jose';
import { McpcpError } from '../lib/errors.ts';

export const jwksFileName = 'jwks.json';

const kidPattern = /^[A-Za-z0-9_-]{16,128}$/;

export function jwksPath(dir: string): string {
  return join(dir, jwksFileName);
}

export function privateKeyPath(dir: string, kid: string): string {
  // The kid becomes part of a file name: only base64url thumbprints are accepted, never a path.
  if (!kidPattern.test(kid)) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', `not a key id: ${JSON.stringify(kid)}`);
  }
  return join(dir, `private-${kid}.pem`);
}

/** Reads `dir/jwks.json`; undefined when the file does not exist. */
export async function readJwksFile(dir: string): Promise<JSONWebKeySet | undefined> {
  const file = jwksPath(dir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  return parseJwks(text, file);
}

export function parseJwks(text: string, source: string): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new McpcpError('ERR_KEYS_NOT_FOUND', `${source}: not valid JSON`, { cause });
  }
  if (!isJwks(value)) {
    throw new McpcpError('ERR_KEYS_NOT_FOUND', `${source}: not a JWKS (expected {"keys": [...]})`);
  }
  return value;
}

function isJwks(value: unknown): value is JSONWebKeySet {
  if (typeof value !== 'object' || value === null) return false;
  const keys = (value as { keys?: unknown }).keys;
  return Array.isArray(keys) && keys.every((key) => typeof key === 'object' && key !== null);
}

/** Writes the public JWKS atomically (temp file + rename), so readers never see half a file. */
export async function writeJwksFile(dir: string, keys: readonly JWK[]): Promise<void> {
  await writeAtomic(jwksPath(dir), `${JSON.stringify({ keys }, null, 2)}\n`, 0o644);
}

/** Writes a private key with mode 0600; refuses to replace an existing file. */
export async function writePrivateKeyFile(dir: string, kid: string, pem: string): Promise<void> {
  const file = privateKeyPath(dir, kid);
  await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  // The umask may have narrowed the mode further, never widened it; make it exactly 0600.
  await chmod(file, 0o600);
}

export async function readPrivateKeyFile(dir: string, kid: string): Promise<string> {
  const file = privateKeyPath(dir, kid);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) {
      throw new McpcpError('ERR_KEYS_NOT_FOUND', `private key for kid ${kid} not found: ${file}`);
    }
    throw error;
  }
}

export async function removePrivateKeyFile(dir: string, kid: string): Promise<void> {
  await rm(privateKeyPath(dir, kid), { force: true });
}

export async function ensureKeyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text, { mode, flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}
