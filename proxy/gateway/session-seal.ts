// Sealed 2025-era session ids: what a session needs to be rebuilt on any proxy replica (its agent and the client's
// initialize parameters) travels inside the Mcp-Session-Id itself, encrypted and authenticated (AES-256-GCM, see
// proxy/sealed.ts) with a key every replica derives from the fleet's signing key. No replica needs another's memory
// or a shared table, so a load balancer needs no sticky sessions. It must not decide whether a session may be used: legacy.ts checks the
// agent against the caller's token, and answers an id that does not open exactly like an unknown one.
import { randomBytes } from 'node:crypto';
import type { Signer } from '../../auth/keys.ts';
import { createSealer, sealKey } from '../sealed.ts';

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

const purpose = 'mcpcp legacy session id v1';

/** The seal key from the fleet's private signing key, so every replica holding the keys derives the same one. */
export function sessionSealKey(privateKey: Signer['privateKey']): Promise<Buffer> {
  return sealKey(privateKey, purpose);
}

export function createSessionSeal(key: Uint8Array = randomBytes(32)): SessionSeal {
  if (key.length !== 32) throw new RangeError('the session seal key must be 32 bytes');
  const sealer = createSealer(key, 'mcs1.');
  return {
    seal: (session) => sealer.seal(session),
    open(id) {
      const value = sealer.open(id) as Partial<SealedSession> | undefined;
      if (typeof value?.agent !== 'string' || typeof value.iat !== 'number') return undefined;
      if (typeof value.init !== 'object' || value.init === null) return undefined;
      return { agent: value.agent, init: value.init, iat: value.iat };
    },
  };
}
