// The worker pool behind runBotHook: hooks run off the caller's thread, and a hook stuck where the sandbox's
// interrupt handler cannot reach (a huge native sort) is killed by the pool's wall-clock timer.
import { afterAll, describe, expect, it } from 'vitest';
import {
  closeBotHost,
  configureBotHost,
  runBotHook,
  warmBotHost,
} from '../../../servers/sandbox/bot-host.ts';
import type { BotHookInput } from '../../../servers/sandbox/bot-host.ts';
import { createBotWorkerPool } from '../../../servers/sandbox/bot-worker-pool.ts';

const pool = createBotWorkerPool({ size: 1, graceMs: 20 });
afterAll(() => pool.close());

const input = (body: string, extra: Partial<BotHookInput> = {}): BotHookInput => ({
  source: `class W { constructor(ctx) { this.ctx = ctx } onInit() { const ctx = this.ctx; ${body} } }`,
  params: null,
  hook: 'init',
  event: null,
  state: { before: true },
  randomKey: 'e1'.repeat(32),
  randomCounter: 4,
  now: 0,
  ...extra,
});

describe('bot worker pool', () => {
  it('runs a hook in a worker and returns its output', async () => {
    const out = await pool.run(
      input(`ctx.post('bot', { r: ctx.randomInt(10) }); ctx.setState({ after: true })`),
    );
    expect(out.error).toBeUndefined();
    expect(out.posts).toHaveLength(1);
    expect(out.state).toEqual({ after: true });
    expect(out.randomCounter).toBe(5);
  });

  it('kills a worker stuck in a non-interruptible builtin and replaces it', async () => {
    const before = pool.workersStarted;
    const started = performance.now();
    const out = await pool.run(
      // each default sort of 600k elements runs ~200 ms inside QuickJS without polling the interrupt handler
      input(`const a = new Array(6e5).fill(7); a.sort(); a.sort(); a.sort();`, {
        limits: { wallMs: 50, memoryBytes: 32 * 1024 * 1024 },
      }),
    );
    expect(out).toEqual({
      posts: [],
      state: { before: true },
      stateChanged: false,
      randomCounter: 4,
      error: { code: 'ERR_BOT_TIMEOUT', message: 'the hook exceeded its wall-clock limit (worker stopped)' },
    });
    expect(performance.now() - started).toBeLessThan(3_000);
    const next = await pool.run(input(`ctx.post('bot', { ok: true })`));
    expect(next.posts).toEqual([{ kind: 'bot', body: { ok: true } }]);
    expect(pool.workersStarted).toBe(before + 1); // the replacement, started at the kill
  });

  it('puts a hook that arrives while its worker is still warming up under the kill timer too', async () => {
    // A fresh pool: the hook is sent before the worker is ready. It used to start before "ready" and run with no
    // kill timer, failing only at the 30 s start-up timeout as "the sandbox worker did not start".
    const fresh = createBotWorkerPool({ size: 1, graceMs: 20 });
    try {
      const started = performance.now();
      const out = await fresh.run(
        input(`const a = new Array(6e5).fill(7); for (let i = 0; i < 100; i++) a.sort();`, {
          limits: { wallMs: 200, memoryBytes: 32 * 1024 * 1024 },
        }),
      );
      expect(out.error).toEqual({
        code: 'ERR_BOT_TIMEOUT',
        message: 'the hook exceeded its wall-clock limit (worker stopped)',
      });
      expect(performance.now() - started).toBeLessThan(10_000);
      // Its replacement is warming up already, before any hook asks for it.
      expect(fresh.workersStarted).toBe(2);
    } finally {
      await fresh.close();
    }
  }, 40_000);

  it('replaces the worker after a hook that left the process much bigger (its memory goes with the thread)', async () => {
    const lean = createBotWorkerPool({ size: 1, recycleAfterGrowthBytes: 32 * 1024 * 1024 });
    try {
      await lean.run(input(`ctx.post('bot', { warm: true })`));
      expect(lean.workersRecycled).toBe(0);
      // Succeeds under QuickJS's 32 MiB accounting (it undercounts small allocations) while touching ~110 MiB of
      // the sandbox's fixed wasm memory, which stays resident as long as that worker lives.
      const heavy = await lean.run(
        input(`const m = new Map(); for (let i = 0; i < 8e5; i++) m.set(i, [i]); ctx.post('bot', m.size);`, {
          limits: { memoryBytes: 32 * 1024 * 1024, instructions: 2e9, wallMs: 30_000 },
        }),
      );
      expect(heavy.error).toBeUndefined();
      expect(heavy.posts).toEqual([{ kind: 'bot', body: 8e5 }]);
      expect(lean.workersRecycled).toBe(1);
      expect(lean.workersStarted).toBe(2);
      const next = await lean.run(input(`ctx.post('bot', { ok: true })`));
      expect(next.posts).toEqual([{ kind: 'bot', body: { ok: true } }]);
      // Ordinary hooks leave nothing worth a new worker.
      for (let i = 0; i < 5; i += 1) await lean.run(input(`ctx.post('bot', { i: ${i} })`));
      expect(lean.workersRecycled).toBe(1);
    } finally {
      await lean.close();
    }
  }, 30_000);

  it('queues hooks and answers each in order', async () => {
    const outs = await Promise.all([1, 2, 3, 4].map((n) => pool.run(input(`ctx.post('bot', { n: ${n} })`))));
    expect(outs.map((o) => o.posts[0]?.body)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
  });

  it('rejects input that cannot cross to the worker', async () => {
    await expect(pool.run(input('', { params: { f: () => 1 } }))).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});

describe('bot host modes', () => {
  afterAll(() => configureBotHost({ mode: 'worker', workers: 1 }));

  it('warms up and then answers quickly through the default worker', async () => {
    await warmBotHost();
    const started = performance.now();
    const out = await runBotHook(input(`ctx.post('bot', { warm: true })`));
    expect(out.posts).toEqual([{ kind: 'bot', body: { warm: true } }]);
    expect(performance.now() - started).toBeLessThan(500);
    await closeBotHost();
  });

  it('runs hooks on the calling thread in in-process mode', async () => {
    await configureBotHost({ mode: 'in-process' });
    const out = await runBotHook(input(`ctx.post('bot', { inline: true })`));
    expect(out.posts).toEqual([{ kind: 'bot', body: { inline: true } }]);
  });
});
