import { describe, expect, it } from 'vitest';
import { createRestartTracker } from '../../../proxy/upstreams/backoff.ts';

const policy = {
  policy: 'on-failure' as const,
  maxRestarts: 3,
  windowMs: 1000,
  backoffMs: 100,
  maxBackoffMs: 350,
};

describe('restart tracker', () => {
  it('backs off exponentially up to the cap', () => {
    let now = 0;
    const tracker = createRestartTracker(policy, () => now);
    const delays = [1, 2, 3].map(() => {
      now += 1;
      return tracker.onFailure().delayMs;
    });
    expect(delays).toEqual([100, 200, 350]);
  });

  it('reports crash-looping past maxRestarts inside the window and recovers after it', () => {
    let now = 0;
    const tracker = createRestartTracker(policy, () => now);
    for (let i = 0; i < 3; i += 1) expect(tracker.onFailure().crashLooping).toBe(false);
    expect(tracker.onFailure()).toEqual({ restart: true, delayMs: 350, crashLooping: true });
    now += 5000;
    expect(tracker.onFailure().crashLooping).toBe(false);
  });

  it('never restarts under policy never', () => {
    expect(createRestartTracker({ ...policy, policy: 'never' }).onFailure().restart).toBe(false);
  });
});
