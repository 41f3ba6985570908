// Values sealed into the strings a client carries (a session id, a cookie): JSON encrypted and authenticated with
// AES-256-GCM under a key every proxy replica derives from the fleet's private signing key (HKDF, one `purpose` per
// use, so one kind of sealed string never opens as another). What opens is exactly what this fleet sealed for that
// purpose; anything else opens as nothing. It must not decide what a value may be used for.
import { createCipheriv, createDecipheriv, hkdfSync, KeyObject, randomBytes } from 'node:crypto';
import type { Signer } from '../auth/keys.ts';

export interface Sealer {
  seal(value: unknown): string;
  /** The value, or undefined for a string this fleet did not seal for this purpose (or that was altered). */
  open(sealed: string): unknown;
}

/** A 32-byte key for `purpose` from the fleet's private signing key: the same on every replica holding the keys. */
export async function sealKey(privateKey: Signer['privateKey'], purpose: string): Promise<Buffer> {
  const der =
    privateKey instanceof KeyObject
      ? privateKey.export({ format: 'der', type: 'pkcs8' })
      : Buffer.from(await crypto.subtle.exportKey('pkcs8', privateKey));
  return Buffer.from(hkdfSync('sha256', der, 'mcpcp', purpose, 32));
}

/** `prefix` marks the strings (and versions them); `maxLength` bounds what is even tried. */
export function createSealer(key: Uint8Array, prefix: string, maxLength = 8_192): Sealer {
  if (key.length !== 32) throw new RangeError('a seal key must be 32 bytes');
  return {
    seal(value) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return prefix + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    open(sealed) {
      if (!sealed.startsWith(prefix) || sealed.length > maxLength) return undefined;
      const raw = Buffer.from(sealed.slice(prefix.length), 'base64url');
      if (raw.length < 12 + 16 + 2) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
        return JSON.parse(text.toString('utf8')) as unknown;
      } catch {
        return undefined;
      }
    },
  };
}
