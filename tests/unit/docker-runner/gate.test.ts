import { describe, expect, it } from 'vitest';
import { createGate } from '../../../servers/docker-runner/gate.ts';

describe('concurrency gate', () => {
  it('lets `running` in, queues the next in order, refuses beyond the queue', async () => {
    const gate = createGate({ running: 2, queued: 2, queueTimeoutMs: 10_000 });
    const a = await gate.acquire();
    const b = await gate.acquire();
    const order: string[] = [];
    const c = gate.acquire().then((release) => (order.push('c'), release));
    const d = gate.acquire().then((release) => (order.push('d'), release));
    expect([gate.running, gate.queued]).toEqual([2, 2]);
    await expect(gate.acquire()).rejects.toMatchObject({ code: 'ERR_RUNNER_BUSY' });
    a();
    a(); // a second release of the same slot changes nothing
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(['c', 'd']);
    expect([gate.running, gate.queued]).toEqual([0, 0]);
  });

  it('gives up a wait after queueTimeoutMs, and on abort', async () => {
    const gate = createGate({ running: 1, queued: 5, queueTimeoutMs: 50 });
    const held = await gate.acquire();
    await expect(gate.acquire()).rejects.toMatchObject({ code: 'ERR_RUNNER_BUSY' });
    const controller = new AbortController();
    const waiting = gate.acquire(controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(gate.queued).toBe(0);
    held();
    expect(gate.running).toBe(0);
  });
});
