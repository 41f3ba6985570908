// The audit stream as the console sees it: the last calls (the same named fields the audit line has, plus the
// time) in a ring, and listeners for the live page. It must not hold arguments or tokens: it copies named fields.
import type { AuditCall, AuditLog } from '../audit.ts';

export interface ActivityEvent {
  readonly at: number;
  readonly agent: string;
  readonly method: string;
  readonly name: string;
  readonly server?: string | undefined;
  readonly decision: string;
  readonly rule: string;
  readonly durationMs: number;
  readonly outcome: string;
}

export interface ActivityFeed {
  /** Oldest first. */
  recent(): readonly ActivityEvent[];
  subscribe(listener: (event: ActivityEvent) => void): () => void;
  record(call: AuditCall): void;
}

export function createActivityFeed(options: { size?: number; now?: () => number } = {}): ActivityFeed {
  const size = options.size ?? 1000;
  const now = options.now ?? Date.now;
  const ring: ActivityEvent[] = [];
  const listeners = new Set<(event: ActivityEvent) => void>();
  return {
    recent: () => ring,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    record(call) {
      const event: ActivityEvent = {
        at: now(),
        agent: call.agent,
        method: call.method,
        name: call.name,
        server: call.server,
        decision: call.decision,
        rule: call.rule,
        durationMs: call.durationMs,
        outcome: call.outcome,
      };
      ring.push(event);
      if (ring.length > size) ring.shift();
      for (const listener of listeners) listener(event);
    },
  };
}

/** The audit log, also feeding the console: every audit line is one activity event. */
export function auditWithActivity(audit: AuditLog, feed: ActivityFeed): AuditLog {
  return {
    call(event) {
      audit.call(event);
      feed.record(event);
    },
  };
}
