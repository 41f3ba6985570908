// Who holds which session: a session belongs to the agent that started it, and to anyone else it does not exist
// (the same answer as an unknown id, so ids cannot be probed). Which sessions are due to end is a pure function of
// the table and an explicit `now`. It must not call Docker; service.ts stops what this says is due.
import { randomBytes } from 'node:crypto';
import { McpcpError } from '../../lib/errors.ts';

export interface Session {
  readonly id: string;
  readonly agent: string;
  readonly image: string;
  readonly containerId: string;
  readonly startedAt: number;
  lastUsedAt: number;
  /** Operations in flight: a busy session is not idle. */
  busy: number;
}

export interface SessionLimits {
  readonly idleMs: number;
  readonly maxLifeMs: number;
  readonly perAgent: number;
  readonly total: number;
}

export function newSessionId(): string {
  return `ses_${randomBytes(16).toString('base64url')}`;
}

/** Sessions due to end at `now`, with the reason: unused for idleMs (and not busy), or older than maxLifeMs. */
export function dueSessions(
  sessions: Iterable<Session>,
  now: number,
  limits: Pick<SessionLimits, 'idleMs' | 'maxLifeMs'>,
): Array<{ session: Session; reason: 'idle' | 'max_life' }> {
  const due: Array<{ session: Session; reason: 'idle' | 'max_life' }> = [];
  for (const session of sessions) {
    if (now - session.startedAt >= limits.maxLifeMs) due.push({ session, reason: 'max_life' });
    else if (session.busy === 0 && now - session.lastUsedAt >= limits.idleMs)
      due.push({ session, reason: 'idle' });
  }
  return due;
}

export class SessionTable {
  readonly #sessions = new Map<string, Session>();
  readonly #limits: SessionLimits;

  constructor(limits: SessionLimits) {
    this.#limits = limits;
  }

  /** Throws ERR_LIMIT when the agent or the runner holds as many sessions as allowed. */
  checkRoom(agent: string): void {
    if (this.#sessions.size >= this.#limits.total)
      throw new McpcpError('ERR_LIMIT', `the runner holds ${this.#limits.total} sessions, its maximum`);
    if (this.forAgent(agent).length >= this.#limits.perAgent)
      throw new McpcpError(
        'ERR_LIMIT',
        `you hold ${this.#limits.perAgent} sessions, the maximum per agent: stop one first (session_stop)`,
      );
  }

  add(session: Session): void {
    this.#sessions.set(session.id, session);
  }

  /** The caller's own session; anything else is ERR_SESSION_NOT_FOUND. */
  owned(agent: string, id: string): Session {
    const session = this.#sessions.get(id);
    if (session === undefined || session.agent !== agent)
      throw new McpcpError(
        'ERR_SESSION_NOT_FOUND',
        `no session ${JSON.stringify(id)} of yours (it may have ended)`,
      );
    return session;
  }

  forAgent(agent: string): Session[] {
    return [...this.#sessions.values()].filter((s) => s.agent === agent);
  }

  all(): Session[] {
    return [...this.#sessions.values()];
  }

  /** Takes the session out; returns it when it was there (so one stop wins). */
  take(id: string): Session | undefined {
    const session = this.#sessions.get(id);
    this.#sessions.delete(id);
    return session;
  }

  get limits(): SessionLimits {
    return this.#limits;
  }
}
