import { describe, expect, it } from 'vitest';
import {
  computeBackoffMs,
  createRestartTracker,
  judgeCrash,
  type CrashHistory,
  type RestartPolicy,
} from '../../../supervisor/backoff.ts';

const policy: RestartPolicy = {
  policy: 'on-failure',
  maxRestarts: 3,
  windowMs: 10_000,
  backoffMs: 100,
  maxBackoffMs: 1_000,
};

describe('computeBackoffMs', () => {
  it('doubles the delay per attempt, with half of it jittered', () => {
    expect(computeBackoffMs(1, policy, () => 0)).toBe(50);
    expect(computeBackoffMs(1, policy, () => 1)).toBe(100);
    expect(computeBackoffMs(2, policy, () => 0)).toBe(100);
    expect(computeBackoffMs(3, policy, () => 0.5)).toBe(300);
  });

  it('never exceeds maxBackoffMs, however many attempts', () => {
    for (const attempt of [5, 10, 100, 10_000]) {
      expect(computeBackoffMs(attempt, policy, () => 1)).toBe(1_000);
      expect(computeBackoffMs(attempt, policy, () => 0)).toBe(500);
    }
  });

  it('is zero when the base delay is zero', () => {
    expect(computeBackoffMs(4, { backoffMs: 0, maxBackoffMs: 1_000 }, () => 1)).toBe(0);
  });
});

describe('judgeCrash', () => {
  const crashAt = (history: CrashHistory, now: number, p: RestartPolicy = policy) =>
    judgeCrash(history, { now, clean: false }, p, () => 0);

  it('restarts with a growing delay, then gives up after maxRestarts crashes in the window', () => {
    let history: CrashHistory = [];
    const verdicts = [0, 10, 20, 30].map((now) => {
      const result = crashAt(history, now);
      history = result.history;
      return result.verdict;
    });
    expect(verdicts.slice(0, 3)).toEqual([
      { action: 'restart', attempt: 1, delayMs: 50 },
      { action: 'restart', attempt: 2, delayMs: 100 },
      { action: 'restart', attempt: 3, delayMs: 200 },
    ]);
    expect(verdicts[3]).toEqual({ action: 'give-up', crashesInWindow: 4 });
  });

  it('forgets crashes older than the window, so a rare crash never ends in crash-looping', () => {
    let history: CrashHistory = [];
    for (let i = 0; i < 20; i += 1) {
      const result = crashAt(history, i * 20_000);
      expect(result.verdict).toEqual({ action: 'restart', attempt: 1, delayMs: 50 });
      history = result.history;
    }
  });

  it('leaves a cleanly exited child down under on-failure, restarts it under always', () => {
    expect(judgeCrash([], { now: 0, clean: true }, policy, () => 0).verdict).toEqual({ action: 'stay-down' });
    expect(
      judgeCrash([], { now: 0, clean: true }, { ...policy, policy: 'always' }, () => 0).verdict.action,
    ).toBe('restart');
  });

  it('never restarts under policy never', () => {
    expect(crashAt([], 0, { ...policy, policy: 'never' }).verdict).toEqual({ action: 'stay-down' });
  });

  it('gives up at the first crash when maxRestarts is 0', () => {
    expect(crashAt([], 0, { ...policy, maxRestarts: 0 }).verdict).toEqual({
      action: 'give-up',
      crashesInWindow: 1,
    });
  });
});

const trackerPolicy: RestartPolicy = { ...policy, windowMs: 1000, maxBackoffMs: 350 };
/** A tracker on a settable clock, jitter at its maximum (so delays are exact). */
function tracked() {
  const clock = { now: 0 };
  return {
    clock,
    tracker: createRestartTracker(
      trackerPolicy,
      () => clock.now,
      () => 1,
    ),
  };
}

// The retry tracker the proxy's HTTP upstream uses, built on judgeCrash (one backoff module for both).
describe('createRestartTracker', () => {
  it('backs off exponentially up to the cap (jitter at its maximum)', () => {
    const { clock, tracker } = tracked();
    const delays = [1, 2, 3].map(() => {
      clock.now += 1;
      return tracker.onFailure().delayMs;
    });
    expect(delays).toEqual([100, 200, 350]);
  });

  it('reports crash-looping past maxRestarts inside the window and recovers after it', () => {
    const { clock, tracker } = tracked();
    for (let i = 0; i < 3; i += 1) expect(tracker.onFailure().crashLooping).toBe(false);
    expect(tracker.onFailure()).toEqual({ restart: true, delayMs: 350, crashLooping: true });
    clock.now += 5000;
    expect(tracker.onFailure().crashLooping).toBe(false);
  });

  it('never restarts under policy never', () => {
    expect(createRestartTracker({ ...trackerPolicy, policy: 'never' }).onFailure().restart).toBe(false);
  });

  it('jitters half of each delay, so children that failed together do not retry in lockstep', () => {
    const low = createRestartTracker(
      trackerPolicy,
      () => 0,
      () => 0,
    ).onFailure().delayMs;
    const high = createRestartTracker(
      trackerPolicy,
      () => 0,
      () => 1,
    ).onFailure().delayMs;
    expect([low, high]).toEqual([50, 100]);
  });

  it('forgets failures after reset, so a recovered connection starts from the base delay', () => {
    const { clock, tracker } = tracked();
    for (let i = 0; i < 4; i += 1) tracker.onFailure();
    tracker.reset();
    clock.now += 1;
    expect(tracker.onFailure()).toEqual({ restart: true, delayMs: 100, crashLooping: false });
  });
});
