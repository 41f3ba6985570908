// Console sessions: a random id in an HttpOnly, SameSite=Strict cookie maps to who signed in (an operator, or a
// channel member with their own agent token) and a per-session CSRF token. The token used to sign in is never kept,
// never put in a page or a URL: only what it proved (the principal) and when it expires. In memory: a restarted
// proxy asks everyone to sign in again. It must not read requests; security.ts does.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../gateway/index.ts';

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

/** Constant-time comparison of two CSRF tokens. */
export function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
