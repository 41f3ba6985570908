// Sealed 2025-era session ids: what a session needs to be rebuilt on any proxy replica (its agent and the client's
// initialize parameters) travels inside the Mcp-Session-Id itself, encrypted and authenticated (AES-256-GCM) with a
// key every replica derives from the fleet's signing key. No replica needs another's memory or a shared table, so
// a load balancer needs no sticky sessions. It must not decide whether a session may be used: legacy.ts checks the
// agent against the caller's token, and answers an id that does not open exactly like an unknown one.
import { createCipheriv, createDecipheriv, hkdfSync, KeyObject, randomBytes } from 'node:crypto';
import type { Signer } from '../../auth/keys.ts';

/** What a sealed id carries: enough to replay the session's initialize on another replica. */
export interface SealedSession {
  agent: string;
  /** The client's initialize params as it sent them (protocolVersion, capabilities, clientInfo). */
  init: Record<string, unknown>;
  /** When the session was opened (ms). */
  iat: number;
}

export interface SessionSeal {
  seal(session: SealedSession): string;
  /** The session, or undefined for an id this fleet did not seal (or that was altered). */
  open(id: string): SealedSession | undefined;
}

const prefix = 'mcs1.';
const info = 'mcpcp legacy session id v1';

/** The seal key from the fleet's private signing key, so every replica holding the keys derives the same one. */
export async function sessionSealKey(privateKey: Signer['privateKey']): Promise<Buffer> {
  const der =
    privateKey instanceof KeyObject
      ? privateKey.export({ format: 'der', type: 'pkcs8' })
      : Buffer.from(await crypto.subtle.exportKey('pkcs8', privateKey));
  return Buffer.from(hkdfSync('sha256', der, 'mcpcp', info, 32));
}

export function createSessionSeal(key: Uint8Array = randomBytes(32)): SessionSeal {
  if (key.length !== 32) throw new RangeError('the session seal key must be 32 bytes');
  return {
    seal(session) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(session), 'utf8'), cipher.final()]);
      return prefix + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    open(id) {
      if (!id.startsWith(prefix) || id.length > 8_192) return undefined;
      const raw = Buffer.from(id.slice(prefix.length), 'base64url');
      if (raw.length < 12 + 16 + 2) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
        const value = JSON.parse(text.toString('utf8')) as Partial<SealedSession>;
        if (typeof value.agent !== 'string' || typeof value.iat !== 'number') return undefined;
        if (typeof value.init !== 'object' || value.init === null) return undefined;
        return { agent: value.agent, init: value.init, iat: value.iat };
      } catch {
        return undefined;
      }
    },
  };
}
