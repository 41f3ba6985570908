import { describe, expect, it } from 'vitest';
// The retry tracker the proxy's HTTP upstream uses, built on the supervisor's judgeCrash (one backoff module).
import { createRestartTracker } from '../../../launcher/supervisor/backoff.ts';

const policy = {
  policy: 'on-failure' as const,
  maxRestarts: 3,
  windowMs: 1000,
  backoffMs: 100,
  maxBackoffMs: 350,
};

describe('restart tracker', () => {
  it('backs off exponentially up to the cap (jitter at its maximum)', () => {
    let now = 0;
    const tracker = createRestartTracker(
      policy,
      () => now,
      () => 1,
    );
    const delays = [1, 2, 3].map(() => {
      now += 1;
      return tracker.onFailure().delayMs;
    });
    expect(delays).toEqual([100, 200, 350]);
  });

  it('reports crash-looping past maxRestarts inside the window and recovers after it', () => {
    let now = 0;
    const tracker = createRestartTracker(
      policy,
      () => now,
      () => 1,
    );
    for (let i = 0; i < 3; i += 1) expect(tracker.onFailure().crashLooping).toBe(false);
    expect(tracker.onFailure()).toEqual({ restart: true, delayMs: 350, crashLooping: true });
    now += 5000;
    expect(tracker.onFailure().crashLooping).toBe(false);
  });

  it('never restarts under policy never', () => {
    expect(createRestartTracker({ ...policy, policy: 'never' }).onFailure().restart).toBe(false);
  });

  it('jitters half of each delay, so children that failed together do not retry in lockstep', () => {
    const low = createRestartTracker(
      policy,
      () => 0,
      () => 0,
    ).onFailure().delayMs;
    const high = createRestartTracker(
      policy,
      () => 0,
      () => 1,
    ).onFailure().delayMs;
    expect([low, high]).toEqual([50, 100]);
  });

  it('forgets failures after reset, so a recovered connection starts from the base delay', () => {
    let now = 0;
    const tracker = createRestartTracker(
      policy,
      () => now,
      () => 1,
    );
    for (let i = 0; i < 4; i += 1) tracker.onFailure();
    tracker.reset();
    now += 1;
    expect(tracker.onFailure()).toEqual({ restart: true, delayMs: 100, crashLooping: false });
  });
});
