// RS256 signing keys in a folder: generate, rotate (several keys coexist, the newest signs), remove, load.
// The kid is the RFC 7638 thumbprint of the public key. It must not issue or verify tokens.
import { createPrivateKey, createPublicKey, generateKeyPair as generateRsaKeyPair } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { McpcpError } from '../lib/errors.ts';
import {
  ensureKeyDir,
  isNotFound,
  jwksPath,
  privateKeyPath,
  readJwksFile,
  readPrivateKeyFile,
  removePrivateKeyFile,
  writeJwksFile,
  writePrivateKeyFile,
} from './key-files.ts';

export interface Signer {
  readonly kid: string;
  readonly privateKey: CryptoKey | KeyObject;
}

export interface KeyOptions {
  /** RSA modulus length in bits; at least 2048 (the default). */
  modulusLength?: number;
}

export interface KeyInfo {
  kid: string;
  /** True for the newest key, the one that signs. */
  signing: boolean;
  hasPrivateKey: boolean;
}

const generateRsa = promisify(generateRsaKeyPair);

/**
 * Creates a fresh key folder with one key. Refuses (ERR_KEYS_EXIST) when the folder already holds keys,
 * unless `force`, which replaces every existing key: tokens signed by the old keys stop verifying.
 */
export async function generateKeyPair(
  dir: string,
  opts: { force?: boolean } & KeyOptions = {},
): Promise<{ kid: string }> {
  const existing = await existingKids(dir);
  if (existing.length > 0 && opts.force !== true) {
    throw new McpcpError(
      'ERR_KEYS_EXIST',
      `${dir} already holds keys (${existing.join(', ')}); use --force to replace them or rotate to add one`,
      { details: { dir, kids: existing } },
    );
  }
  await ensureKeyDir(dir);
  const { kid, jwk } = await createKey(dir, opts);
  await writeJwksFile(dir, [jwk]);
  for (const old of existing) if (old !== kid) await removePrivateKeyFile(dir, old);
  return { kid };
}

/** Adds a new key in front of the existing ones: it signs from now on, the older keys still verify. */
export async function rotateKey(dir: string, opts: KeyOptions = {}): Promise<{ kid: string }> {
  await ensureKeyDir(dir);
  const { kid, jwk } = await createKey(dir, opts);
  const current = (await readJwksFile(dir))?.keys ?? [];
  await writeJwksFile(dir, [jwk, ...current.filter((key) => key.kid !== kid)]);
  return { kid };
}

/** Removes one key (public and private); tokens it signed stop verifying. The last key cannot be removed. */
export async function removeKey(dir: string, kid: string): Promise<void> {
  const keys = (await loadJwks(dir)).keys;
  if (!keys.some((key) => key.kid === kid)) {
    throw new McpcpError('ERR_KEYS_NOT_FOUND', `no key with kid ${kid} in ${jwksPath(dir)}`);
  }
  if (keys.length === 1) {
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      `${kid} is the only key in ${dir}; rotate first, or generate --force to replace it`,
    );
  }
  await writeJwksFile(
    dir,
    keys.filter((key) => key.kid !== kid),
  );
  await removePrivateKeyFile(dir, kid);
}

export async function listKeys(dir: string): Promise<KeyInfo[]> {
  const keys = (await loadJwks(dir)).keys;
  return Promise.all(
    keys.map(async (key, index) => ({
      kid: String(key.kid),
      signing: index === 0,
      hasPrivateKey: await fileExists(privateKeyPath(dir, String(key.kid))),
    })),
  );
}

/** The public key set (newest first), as served to verifiers. */
export async function loadJwks(dir: string): Promise<JSONWebKeySet> {
  const jwks = await readJwksFile(dir);
  if (jwks === undefined || jwks.keys.length === 0) {
    throw new McpcpError('ERR_KEYS_NOT_FOUND', `no keys in ${dir}; run \`mcpcp keys generate --dir ${dir}\``);
  }
  return jwks;
}

/** The newest key's private half. Checks that it matches the published public key. */
export async function loadSigner(dir: string): Promise<Signer> {
  const newest = (await loadJwks(dir)).keys[0];
  const kid = newest?.kid;
  if (typeof kid !== 'string') {
    throw new McpcpError('ERR_KEYS_NOT_FOUND', `the newest key in ${jwksPath(dir)} has no kid`);
  }
  const privateKey = createPrivateKey(await readPrivateKeyFile(dir, kid));
  const actual = await thumbprintOf(createPublicKey(privateKey));
  if (actual !== kid) {
    throw new McpcpError(
      'ERR_KEYS_NOT_FOUND',
      `private key file for ${kid} holds a different key (${actual})`,
    );
  }
  return Object.freeze({ kid, privateKey });
}

async function createKey(dir: string, opts: KeyOptions): Promise<{ kid: string; jwk: JWK }> {
  const modulusLength = opts.modulusLength ?? 2048;
  if (!Number.isInteger(modulusLength) || modulusLength < 2048 || modulusLength > 8192) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', 'RSA modulus length must be 2048..8192 bits');
  }
  const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength });
  const kid = await thumbprintOf(publicKey);
  const { kty, n, e } = publicKey.export({ format: 'jwk' });
  const jwk: JWK = { kty: String(kty), n: String(n), e: String(e), kid, alg: 'RS256', use: 'sig' };
  await writePrivateKeyFile(dir, kid, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  return { kid, jwk };
}

async function thumbprintOf(publicKey: KeyObject): Promise<string> {
  const { kty, n, e } = publicKey.export({ format: 'jwk' });
  return calculateJwkThumbprint({ kty: String(kty), n: String(n), e: String(e) }, 'sha256');
}

/** Kids of keys already in the folder: those published in jwks.json and any stray private key files. */
async function existingKids(dir: string): Promise<string[]> {
  const kids = new Set<string>();
  for (const key of (await readJwksFile(dir))?.keys ?? []) {
    if (typeof key.kid === 'string') kids.add(key.kid);
  }
  try {
    for (const name of await readdir(dir)) {
      const match = /^private-([A-Za-z0-9_-]{16,128})\.pem$/.exec(name);
      if (match?.[1] !== undefined) kids.add(match[1]);
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return [...kids];
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
