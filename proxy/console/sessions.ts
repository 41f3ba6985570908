// Console sessions: a random id in an HttpOnly, SameSite=Strict cookie maps to who signed in (an operator, or a
// channel member with their own agent token) and a per-session CSRF token. The token used to sign in is never kept,
// never put in a page or a URL: only what it proved (the principal) and when it expires. One proxy keeps them in
// memory (a restarted proxy asks everyone to sign in again). Replicas behind a balancer without affinity seal the
// session into the cookie instead (proxy/sealed.ts, a key every replica derives from the fleet's keys), so any replica
// opens it; signing out then ends it on the replica that served the sign-out and in the browser, and a copy of the
// cookie kept elsewhere stays usable on the other replicas until it expires. It must not read requests; security.ts
// does.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../gateway/index.ts';
import { createSealer } from '../sealed.ts';

export interface ConsoleSession {
  readonly id: string;
  readonly csrf: string;
  readonly kind: 'operator' | 'member';
  /** The operator's or agent's name. */
  readonly name: string;
  /** Members: the verified agent principal the console acts as. */
  readonly principal?: Principal | undefined;
  /** Epoch ms: the token's expiry or the session limit, whichever comes first. */
  readonly expiresAt: number;
}

export interface SessionStore {
  create(kind: ConsoleSession['kind'], principal: Principal): ConsoleSession;
  get(id: string | undefined): ConsoleSession | undefined;
  destroy(id: string | undefined): void;
}

export const sessionCookie = 'mcpcp_console';

export function createSessionStore(options: { maxAgeMs?: number; max?: number; now?: () => number } = {}) {
  const maxAgeMs = options.maxAgeMs ?? 12 * 3600_000;
  const max = options.max ?? 10_000;
  const now = options.now ?? Date.now;
  const sessions = new Map<string, ConsoleSession>();
  const store: SessionStore = {
    create(kind, principal) {
      const session: ConsoleSession = {
        id: randomBytes(32).toString('base64url'),
        csrf: randomBytes(32).toString('base64url'),
        kind,
        name: principal.agent,
        ...(kind === 'member' ? { principal } : {}),
        expiresAt: Math.min(principal.expiresAt * 1000, now() + maxAgeMs),
      };
      sessions.set(session.id, session);
      // Oldest first out: a flood of sign-ins cannot grow memory without bound.
      if (sessions.size > max) sessions.delete(sessions.keys().next().value!);
      return session;
    },
    get(id) {
      if (id === undefined) return undefined;
      const session = sessions.get(id);
      if (session === undefined) return undefined;
      if (session.expiresAt <= now()) {
        sessions.delete(id);
        return undefined;
      }
      return session;
    },
    destroy(id) {
      if (id !== undefined) sessions.delete(id);
    },
  };
  return store;
}

/** Sessions sealed into their own ids, for proxy replicas: any replica holding the fleet's keys opens them. */
export function createSealedSessionStore(options: {
  key: Uint8Array;
  maxAgeMs?: number;
  now?: () => number;
}): SessionStore {
  const maxAgeMs = options.maxAgeMs ?? 12 * 3600_000;
  const now = options.now ?? Date.now;
  const sealer = createSealer(options.key, 'mcc1.', 4_000);
  // Ids signed out here, until they would have expired anyway.
  const ended = new Map<string, number>();
  const forgetEnded = (): void => {
    const at = now();
    for (const [id, expiresAt] of ended) if (expiresAt <= at) ended.delete(id);
  };
  const store: SessionStore = {
    create(kind, principal) {
      const fields = {
        csrf: randomBytes(32).toString('base64url'),
        kind,
        name: principal.agent,
        ...(kind === 'member' ? { principal } : {}),
        expiresAt: Math.min(principal.expiresAt * 1000, now() + maxAgeMs),
      };
      return { id: sealer.seal(fields), ...fields };
    },
    get(id) {
      if (id === undefined || ended.has(id)) return undefined;
      const value = sealer.open(id) as Omit<ConsoleSession, 'id'> | undefined;
      if (value === undefined || typeof value.expiresAt !== 'number' || value.expiresAt <= now())
        return undefined;
      if (value.kind !== 'operator' && value.kind !== 'member') return undefined;
      return { ...value, id };
    },
    destroy(id) {
      const session = id === undefined ? undefined : store.get(id);
      if (session === undefined) return;
      if (ended.size > 10_000) forgetEnded();
      ended.set(session.id, session.expiresAt);
    },
  };
  return store;
}

/** Constant-time comparison of two CSRF tokens. */
export function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
