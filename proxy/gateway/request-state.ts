// The `requestState` the proxy hands a 2026-07-28 agent in an `input_required` round: sealed (a JWE,
// `dir` + AES-256-GCM, whose tag authenticates what the cipher hides) with a key derived from the proxy's
// own signing key, so any proxy replica sharing the key folder can open it, the agent can neither read
// nor alter it, and every round gets a fresh one. It binds the round to the agent, the child, the method
// and the name, and expires. It carries the child's own requestState (a stateless child needs nothing
// else), or names a call held in this process's memory (a 2025-era child asking mid-call).
// It must not decide who may call what; the front Server routes and checks before it is asked.
import { hkdfSync, KeyObject, randomBytes, type webcrypto } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';

/** What one round's requestState carries. */
export interface RoundState {
  server: string;
  method: string;
  /** The tool or prompt name, or the resource URI, the round belongs to. */
  name: string;
  /** The child's own requestState, echoed back to it on the retry. */
  child?: string;
  /** An in-memory flow of this process (proxy/gateway/flows.ts): the child is still mid-call. */
  flow?: string;
}

export interface RequestStateSealer {
  seal(agent: string, state: RoundState): Promise<string>;
  /** The state, or undefined when it is not one this proxy sealed for `agent`, or it expired. */
  open(agent: string, token: string): Promise<RoundState | undefined>;
}

const info = 'mcpcp input_required requestState v1';

/** The sealing key for a proxy whose agent tokens `privateKey` signs (HKDF-SHA256 over its PKCS#8 form). */
export function deriveRequestStateKey(privateKey: KeyObject | webcrypto.CryptoKey): Uint8Array {
  const key = privateKey instanceof KeyObject ? privateKey : KeyObject.from(privateKey);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return new Uint8Array(hkdfSync('sha256', der, 'mcpcp', info, 32));
}

/** A key for a proxy without a signing key of its own (a remote JWKS): its states open only here. */
export function ephemeralRequestStateKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

export function createRequestStateSealer(options: {
  key: Uint8Array;
  ttlMs: number;
  /** The clock (ms); default Date.now. */
  now?: () => number;
}): RequestStateSealer {
  if (options.key.byteLength !== 32) throw new RangeError('requestState key must be 32 bytes');
  const { key } = options;
  const now = options.now ?? Date.now;
  const ttlSeconds = Math.max(1, Math.ceil(options.ttlMs / 1000));
  return {
    async seal(agent, state) {
      return new EncryptJWT({ ...state })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'mcpcp-rs' })
        .setSubject(agent)
        .setJti(randomBytes(9).toString('base64url'))
        .setIssuedAt(Math.floor(now() / 1000))
        .setExpirationTime(Math.floor(now() / 1000) + ttlSeconds)
        .encrypt(key);
    },
    async open(agent, token) {
      try {
        const { payload } = await jwtDecrypt(token, key, {
          subject: agent,
          typ: 'mcpcp-rs',
          currentDate: new Date(now()),
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
        });
        const { server, method, name, child, flow } = payload;
        if (typeof server !== 'string' || typeof method !== 'string' || typeof name !== 'string')
          return undefined;
        return {
          server,
          method,
          name,
          ...(typeof child === 'string' ? { child } : {}),
          ...(typeof flow === 'string' ? { flow } : {}),
        };
      } catch {
        return undefined;
      }
    },
  };
}
