// The generic worker pool under the bot and JavaScript pools: a warm-always pool whose worker dies before it is ever
// warm replaces it with a backoff, not in a tight loop; a job sent meanwhile still gets an answer (what the owner says
// a lost worker gives), and closing stops the waiting replacement.
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkerPool, type WorkerPool } from '../../../servers/sandbox/worker-pool.ts';

let pool: WorkerPool<string, string> | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

const coldDeath = new URL('../../fixtures/sandbox/cold-death-worker.ts', import.meta.url);

function brokenPool(): WorkerPool<string, string> {
  return createWorkerPool<string, string, { id: number; out: string }>({
    workerUrl: coldDeath,
    size: 1,
    graceMs: 10,
    warm: 'always',
    closedCode: 'ERR_RUNNER_UNAVAILABLE',
    name: 'test pool',
    message: (id, task) => ({ id, task }),
    timeoutMs: () => 1000,
    answer: (_task, reply) => ({ value: reply.out }),
    lost: (_task, loss) => `lost: ${loss.kind}${loss.kind === 'crash' ? ` (${loss.why})` : ''}`,
    unsendableMessage: 'not sendable',
  });
}

describe('worker pool', () => {
  it('backs off on a worker that can never start instead of restarting it in a loop', async () => {
    pool = brokenPool();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // 0.1 + 0.2 + 0.4 + 0.8 s of backoff fit in 1.5 s: a handful of starts; a tight loop made one per start (16).
    const started = pool.status().started;
    expect(started).toBeGreaterThanOrEqual(2);
    expect(started).toBeLessThanOrEqual(6);
  });

  it('answers a job sent while the replacement waits, with what the owner says a lost worker gives', async () => {
    pool = brokenPool();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await pool.run('hello')).toMatch(/^lost: crash/);
    await pool.close();
    const after = pool.status().started;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(pool.status().started).toBe(after);
  });
});
