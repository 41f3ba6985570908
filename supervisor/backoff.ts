// Restart decisions as pure functions: exponential backoff with jitter, and crash-loop detection over a
// sliding window. No timers and no clock here: callers pass `now` and `random`, so tests need no mocks.

export interface RestartPolicy {
  readonly policy: 'on-failure' | 'always' | 'never';
  /** Crashes tolerated inside `windowMs`; one more marks the child crash-looping. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

export const defaultRestartPolicy: RestartPolicy = Object.freeze({
  policy: 'on-failure',
  maxRestarts: 5,
  windowMs: 60_000,
  backoffMs: 250,
  maxBackoffMs: 10_000,
});

/**
 * Delay before restart number `attempt` (1 = first restart): base · 2^(attempt-1), capped, then "equal jitter":
 * half fixed, half random, so a fleet of children that crashed together does not restart in lockstep.
 */
export function computeBackoffMs(
  attempt: number,
  policy: Pick<RestartPolicy, 'backoffMs' | 'maxBackoffMs'>,
  random: () => number,
): number {
  if (policy.backoffMs <= 0) return 0;
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const capped = Math.min(policy.backoffMs * 2 ** exponent, Math.max(policy.maxBackoffMs, policy.backoffMs));
  const half = capped / 2;
  return Math.round(half + random() * half);
}

export type CrashVerdict =
  | { readonly action: 'restart'; readonly attempt: number; readonly delayMs: number }
  | { readonly action: 'give-up'; readonly crashesInWindow: number }
  | { readonly action: 'stay-down' };

/** Crash times inside the window; immutable so a verdict is a pure function of (history, crash). */
export type CrashHistory = readonly number[];

/**
 * What to do after a child stopped unexpectedly at `now`. `clean` = it exited with code 0 on its own
 * (restarted only under policy `always`). Returns the verdict and the new history.
 */
export function judgeCrash(
  history: CrashHistory,
  crash: { readonly now: number; readonly clean: boolean },
  policy: RestartPolicy,
  random: () => number,
): { verdict: CrashVerdict; history: CrashHistory } {
  const recent = [...history.filter((at) => crash.now - at < policy.windowMs), crash.now];
  if (policy.policy === 'never' || (policy.policy === 'on-failure' && crash.clean)) {
    return { verdict: { action: 'stay-down' }, history: recent };
  }
  if (recent.length > policy.maxRestarts) {
    return { verdict: { action: 'give-up', crashesInWindow: recent.length }, history: recent };
  }
  const attempt = recent.length;
  return {
    verdict: { action: 'restart', attempt, delayMs: computeBackoffMs(attempt, policy, random) },
    history: recent,
  };
}

export interface RestartDecision {
  /** false: give up (policy 'never'). */
  readonly restart: boolean;
  readonly delayMs: number;
  /** More than maxRestarts failures inside windowMs. */
  readonly crashLooping: boolean;
}

/**
 * Stateful wrapper of `judgeCrash` for a connection that is retried rather than a process that is restarted (the
 * proxy's HTTP upstream reconnecting to a child it does not own): past maxRestarts it keeps retrying at
 * maxBackoffMs and reports crash-looping, since giving up on a server someone else runs helps nobody.
 */
export function createRestartTracker(
  policy: RestartPolicy,
  now: () => number = Date.now,
  random: () => number = Math.random,
) {
  let history: CrashHistory = [];
  return {
    /** Records a failure and says what to do next. */
    onFailure(): RestartDecision {
      const judged = judgeCrash(history, { now: now(), clean: false }, policy, random);
      history = judged.history;
      const { verdict } = judged;
      if (verdict.action === 'restart')
        return { restart: true, delayMs: verdict.delayMs, crashLooping: false };
      if (verdict.action === 'give-up')
        return { restart: true, delayMs: policy.maxBackoffMs, crashLooping: true };
      return { restart: false, delayMs: 0, crashLooping: false };
    },
    /** A connection that stayed up clears the history. */
    reset(): void {
      history = [];
    },
  };
}
