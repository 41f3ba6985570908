import { createPublicKey } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, listKeys, loadJwks, loadSigner, removeKey, rotateKey } from '../../../auth/keys.ts';
import { McpcpError } from '../../../lib/errors.ts';
import { makeTempDir, removeDir } from './_helpers.ts';

let root: string | undefined;
let dir: string;

beforeEach(async () => {
  root = await makeTempDir();
  dir = join(root, 'keys');
});
afterEach(async () => {
  await removeDir(root);
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof McpcpError ? error.code : `not McpcpError: ${String(error)}`;
  }
}

describe('generateKeyPair', () => {
  it('writes a public JWKS whose kid is the RFC 7638 thumbprint, RS256, use sig, at least 2048 bits', async () => {
    const { kid } = await generateKeyPair(dir);
    const jwks = await loadJwks(dir);
    expect(jwks.keys).toHaveLength(1);
    const key = jwks.keys[0]!;
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid });
    expect(key.d).toBeUndefined();
    expect(await calculateJwkThumbprint({ kty: 'RSA', n: key.n!, e: key.e! }, 'sha256')).toBe(kid);
    expect(Buffer.from(key.n!, 'base64url').length * 8).toBeGreaterThanOrEqual(2048);
  });

  it('writes the private key as PEM with mode 0600 and the folder with mode 0700', async () => {
    const { kid } = await generateKeyPair(dir);
    const pem = join(dir, `private-${kid}.pem`);
    expect((await stat(pem)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await readFile(pem, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('refuses to overwrite a folder that already holds keys with ERR_KEYS_EXIST', async () => {
    const { kid } = await generateKeyPair(dir);
    expect(await codeOf(generateKeyPair(dir))).toBe('ERR_KEYS_EXIST');
    expect((await loadJwks(dir)).keys.map((key) => key.kid)).toEqual([kid]);
  });

  it('refuses when only a stray private key file is present', async () => {
    const { kid } = await generateKeyPair(dir);
    await writeFile(join(dir, 'jwks.json'), '{"keys": []}');
    expect(await codeOf(generateKeyPair(dir))).toBe('ERR_KEYS_EXIST');
    expect(await readdir(dir)).toContain(`private-${kid}.pem`);
  });

  it('replaces every existing key with --force', async () => {
    const first = await generateKeyPair(dir);
    await rotateKey(dir);
    const replaced = await generateKeyPair(dir, { force: true });
    expect(replaced.kid).not.toBe(first.kid);
    expect((await loadJwks(dir)).keys.map((key) => key.kid)).toEqual([replaced.kid]);
    expect((await readdir(dir)).filter((name) => name.endsWith('.pem'))).toEqual([
      `private-${replaced.kid}.pem`,
    ]);
  });

  it('rejects RSA keys shorter than 2048 bits', async () => {
    expect(await codeOf(generateKeyPair(dir, { modulusLength: 1024 }))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('rotation', () => {
  it('adds a new key first so several coexist and the newest signs', async () => {
    const first = await generateKeyPair(dir);
    const second = await rotateKey(dir);
    expect((await loadJwks(dir)).keys.map((key) => key.kid)).toEqual([second.kid, first.kid]);
    expect((await loadSigner(dir)).kid).toBe(second.kid);
    expect(await listKeys(dir)).toEqual([
      { kid: second.kid, signing: true, hasPrivateKey: true },
      { kid: first.kid, signing: false, hasPrivateKey: true },
    ]);
  });

  it('removes one key, public and private half', async () => {
    const first = await generateKeyPair(dir);
    const second = await rotateKey(dir);
    await removeKey(dir, first.kid);
    expect((await loadJwks(dir)).keys.map((key) => key.kid)).toEqual([second.kid]);
    expect(await readdir(dir)).not.toContain(`private-${first.kid}.pem`);
  });

  it('refuses to remove the only key or an unknown kid', async () => {
    const { kid } = await generateKeyPair(dir);
    expect(await codeOf(removeKey(dir, kid))).toBe('ERR_INVALID_ARGUMENT');
    expect(await codeOf(removeKey(dir, 'A'.repeat(43)))).toBe('ERR_KEYS_NOT_FOUND');
    expect(await codeOf(removeKey(dir, '../../etc/passwd'))).toBe('ERR_KEYS_NOT_FOUND');
  });
});

describe('loadSigner', () => {
  it('loads the newest private key matching its published kid', async () => {
    const { kid } = await generateKeyPair(dir);
    const signer = await loadSigner(dir);
    expect(signer.kid).toBe(kid);
    const { n, e } = createPublicKey(signer.privateKey as never).export({ format: 'jwk' });
    expect(await calculateJwkThumbprint({ kty: 'RSA', n: n!, e: e! }, 'sha256')).toBe(kid);
  });

  it('fails with ERR_KEYS_NOT_FOUND for an empty folder, a missing PEM or a mismatched PEM', async () => {
    expect(await codeOf(loadSigner(dir))).toBe('ERR_KEYS_NOT_FOUND');
    const first = await generateKeyPair(dir);
    const other = join(root!, 'other');
    const second = await generateKeyPair(other);
    // Swap in a PEM that does not belong to the published key.
    const foreign = await readFile(join(other, `private-${second.kid}.pem`), 'utf8');
    await writeFile(join(dir, `private-${first.kid}.pem`), foreign);
    expect(await codeOf(loadSigner(dir))).toBe('ERR_KEYS_NOT_FOUND');
  });
});
