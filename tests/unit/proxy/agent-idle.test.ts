// The idle tracker on its own, on a hand-driven clock: an agent is let go only once every hold has
// ended and idleMs has passed since the last one, exactly once, and a new hold makes it known again.
import { describe, expect, it } from 'vitest';
import { createAgentIdle } from '../../../proxy/gateway/agent-idle.ts';

function tracker(idleMs = 100) {
  let now = 1_000;
  const gone: string[] = [];
  const idle = createAgentIdle({ idleMs, now: () => now, onIdle: (a) => gone.push(a), sweepEveryMs: 0 });
  return { idle, gone, advance: (ms: number) => (now += ms), at: () => now };
}

describe('agent idle tracker', () => {
  it('lets an agent go idleMs after its last hold ends, once', () => {
    const { idle, gone, advance, at } = tracker();
    const session = idle.hold('alice');
    const call = idle.hold('alice');
    session();
    advance(500);
    idle.sweep(at());
    expect(gone).toEqual([]);
    call();
    advance(99);
    idle.sweep(at());
    expect(gone).toEqual([]);
    advance(1);
    idle.sweep(at());
    expect(gone).toEqual(['alice']);
    idle.sweep(at() + 1000);
    expect(gone).toEqual(['alice']);
    expect(idle.size()).toBe(0);
  });

  it('counts a release called twice once', () => {
    const { idle, gone, advance, at } = tracker();
    const first = idle.hold('bob');
    const second = idle.hold('bob');
    first();
    first();
    advance(1000);
    idle.sweep(at());
    expect(gone).toEqual([]);
    second();
    advance(100);
    idle.sweep(at());
    expect(gone).toEqual(['bob']);
  });

  it('knows an agent again after it was let go, and keeps agents apart', () => {
    const { idle, gone, advance, at } = tracker();
    idle.hold('alice')();
    const bob = idle.hold('bob');
    advance(100);
    idle.sweep(at());
    expect(gone).toEqual(['alice']);
    const back = idle.hold('alice');
    advance(1000);
    idle.sweep(at());
    expect(gone).toEqual(['alice']);
    back();
    bob();
    advance(100);
    idle.sweep(at());
    expect(gone.sort()).toEqual(['alice', 'alice', 'bob']);
  });

  it('refuses an idle time that is not positive', () => {
    expect(() => createAgentIdle({ idleMs: 0, onIdle: () => undefined })).toThrow(RangeError);
  });
});
