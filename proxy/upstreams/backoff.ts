// Restart bookkeeping shared by supervised upstreams: exponential backoff and a crash-loop window.
// Pure apart from the clock it is handed.

export interface RestartPolicy {
  readonly policy: 'on-failure' | 'always' | 'never';
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

export interface RestartDecision {
  /** false: give up (policy 'never'). */
  restart: boolean;
  delayMs: number;
  /** More than maxRestarts failures inside windowMs: keep retrying slowly, report crash-looping. */
  crashLooping: boolean;
}

export function createRestartTracker(policy: RestartPolicy, now: () => number = Date.now) {
  let failures: number[] = [];
  return {
    /** Records a failure and says what to do next. */
    onFailure(): RestartDecision {
      const t = now();
      failures = [...failures.filter((f) => t - f < policy.windowMs), t];
      if (policy.policy === 'never') return { restart: false, delayMs: 0, crashLooping: false };
      const crashLooping = failures.length > policy.maxRestarts;
      const exp = policy.backoffMs * 2 ** Math.max(0, failures.length - 1);
      const delayMs = crashLooping ? policy.maxBackoffMs : Math.min(policy.maxBackoffMs, exp);
      return { restart: true, delayMs, crashLooping };
    },
    /** A connection that stayed up clears the history. */
    reset(): void {
      failures = [];
    },
  };
}
