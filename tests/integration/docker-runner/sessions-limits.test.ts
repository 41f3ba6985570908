// The runner's own limits on a real engine, through the proxy: sessions end when idle or at their maximum life and
// are capped per agent; an exec past its deadline or its output cap; file size caps; the concurrency limit with its
// queue; a cancelled call; an image the engine does not hold; an engine that is not there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAvailable } from '../../support/services.ts';
import { runnerYaml, startRunnerFleet, ToolError, type RunnerAgent, type RunnerFleet } from './harness.ts';

interface RunResult {
  exit_code: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  duration_ms: number;
  exit_reason: string;
  session_stopped?: boolean;
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ToolError) return error.code;
    throw error;
  }
  return 'OK';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.runIf(serviceAvailable('docker'))('docker runner limits', { timeout: 120_000 }, () => {
  describe('sessions', () => {
    let fleet: RunnerFleet;
    let alice: RunnerAgent;
    beforeAll(async () => {
      fleet = await startRunnerFleet({
        sweepMs: 100,
        runner: (images, name) =>
          runnerYaml(images, name).replace(
            'sessions: { idleMs: 60000, maxLifeMs: 600000, perAgent: 3, total: 20 }',
            'sessions: { idleMs: 3000, maxLifeMs: 10000, perAgent: 3, total: 20 }',
          ),
      });
      alice = await fleet.connect('alice');
    });
    afterAll(async () => {
      await fleet?.close();
    });

    it('ends an idle session and removes its container', async () => {
      const { session_id } = await alice.call<{ session_id: string }>('session_start', { image: 'busybox' });
      // Used within its idle time, it stays.
      await sleep(1_500);
      await alice.call('exec', { session_id, command: ['true'] });
      await sleep(1_500);
      await alice.call('exec', { session_id, command: ['true'] });
      // Left alone, it goes.
      await until('the idle session to end', async () => (await fleet.containers()).length === 0);
      expect(await code(alice.call('exec', { session_id, command: ['true'] }))).toBe('ERR_SESSION_NOT_FOUND');
    });

    it('ends a session at its maximum life even while in use', async () => {
      const { session_id } = await alice.call<{ session_id: string }>('session_start', { image: 'busybox' });
      const started = Date.now();
      const busy = await alice.call<RunResult>('exec', {
        session_id,
        command: ['sleep', '19'],
        timeout_ms: 19_000,
      });
      // Ended at the session's maximum life (10 s), long before its own deadline: killed by the runner.
      expect(Date.now() - started).toBeLessThan(16_000);
      expect(busy).toMatchObject({ exit_reason: 'killed', session_stopped: true });
      await until('the container to be removed', async () => (await fleet.containers()).length === 0);
      expect((await alice.call<{ sessions: unknown[] }>('sessions')).sessions).toEqual([]);
    });
  });

  describe('processes', () => {
    let fleet: RunnerFleet;
    let alice: RunnerAgent;
    beforeAll(async () => {
      fleet = await startRunnerFleet({
        runner: (images, name) =>
          runnerYaml(images, name).replace(
            'concurrency: { running: 4, queued: 32, queueTimeoutMs: 60000 }',
            'concurrency: { running: 1, queued: 1, queueTimeoutMs: 60000 }',
          ) +
          `  gone:
    ref: mcpcp-test/gone:never-built
    digest: sha256:${'0'.repeat(64)}
`,
      });
      alice = await fleet.connect('alice');
    });
    afterAll(async () => {
      await fleet?.close();
    });

    it('caps sessions per agent', async () => {
      const mine = [];
      for (let i = 0; i < 3; i += 1)
        mine.push(await alice.call<{ session_id: string }>('session_start', { image: 'busybox' }));
      expect(await code(alice.call('session_start', { image: 'busybox' }))).toBe('ERR_LIMIT');
      // Another agent has its own allowance.
      const bob = await fleet.connect('bob');
      const theirs = await bob.call<{ session_id: string }>('session_start', { image: 'busybox' });
      await bob.call('session_stop', { session_id: theirs.session_id });
      for (const { session_id } of mine) await alice.call('session_stop', { session_id });
    });

    it('ends an exec past its deadline by stopping the session', async () => {
      const { session_id } = await alice.call<{ session_id: string }>('session_start', { image: 'busybox' });
      const result = await alice.call<RunResult>('exec', {
        session_id,
        command: ['sleep', '60'],
        timeout_ms: 1_000,
      });
      expect(result).toMatchObject({ exit_reason: 'timeout', session_stopped: true });
      expect(await fleet.containers()).toEqual([]);
      expect(await code(alice.call('exec', { session_id, command: ['true'] }))).toBe('ERR_SESSION_NOT_FOUND');
    });

    it('caps an exec that floods its output: a writer that stops keeps its session, an endless one ends it', async () => {
      const { session_id } = await alice.call<{ session_id: string }>('session_start', { image: 'busybox' });
      const burst = await alice.call<RunResult>('exec', {
        session_id,
        command: ['sh', '-c', 'head -c 2000000 /dev/zero | tr "\\0" b'],
      });
      expect(burst).toMatchObject({ truncated: true, exit_reason: 'output_limit', session_stopped: false });
      expect(burst.stdout).toBe('b'.repeat(1_048_576));
      const alive = await alice.call<RunResult>('exec', { session_id, command: ['echo', 'alive'] });
      expect(alive.stdout).toBe('alive\n');

      const endless = await alice.call<RunResult>('exec', { session_id, command: ['yes', 'flood'] });
      expect(endless).toMatchObject({ truncated: true, exit_reason: 'output_limit', session_stopped: true });
      expect(endless.stdout.length).toBe(1_048_576);
      expect(await code(alice.call('exec', { session_id, command: ['true'] }))).toBe('ERR_SESSION_NOT_FOUND');
      await until('the container to be removed', async () => (await fleet.containers()).length === 0);
    });

    it('refuses files past the image file size, and answers a missing file as not found', async () => {
      const { session_id } = await alice.call<{ session_id: string }>('session_start', { image: 'busybox' });
      try {
        expect(
          await code(alice.call('write_file', { session_id, path: 'big', content: 'x'.repeat(65_537) })),
        ).toBe('ERR_LIMIT');
        await alice.call('exec', { session_id, command: ['sh', '-c', 'head -c 70000 /dev/zero > big'] });
        expect(await code(alice.call('read_file', { session_id, path: 'big' }))).toBe('ERR_LIMIT');
        expect(await code(alice.call('read_file', { session_id, path: 'missing.txt' }))).toBe(
          'ERR_NOT_FOUND',
        );
        const exact = await alice.call('write_file', {
          session_id,
          path: 'exact',
          content: 'y'.repeat(65_536),
        });
        expect(exact).toMatchObject({ bytes: 65_536 });
        const read = await alice.call<{ size: number }>('read_file', { session_id, path: 'exact' });
        expect(read.size).toBe(65_536);
      } finally {
        await alice.call('session_stop', { session_id });
      }
    });

    it('queues runs beyond the concurrency limit and refuses beyond the queue', async () => {
      const calls = [0, 1, 2].map((i) =>
        alice.call<RunResult>('run', { image: 'busybox', command: ['sh', '-c', `sleep 1; echo ${i}`] }).then(
          (r) => ({ ok: r, at: Date.now() }),
          (error: unknown) => ({ error }),
        ),
      );
      const outcomes = await Promise.all(calls);
      const busy = outcomes.filter((o) => 'error' in o);
      const done = outcomes.filter((o): o is { ok: RunResult; at: number } => 'ok' in o);
      expect(busy.map((o) => (o.error as ToolError).code)).toEqual(['ERR_RUNNER_BUSY']);
      expect(done).toHaveLength(2);
      // One at a time: the second ended at least a run's length after the first.
      const [first, second] = done.sort((a, b) => a.at - b.at);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(900);
    });

    it('kills and removes the container of a cancelled call', async () => {
      const controller = new AbortController();
      const call = alice.client.callTool(
        { name: 'docker-runner_run', arguments: { image: 'busybox', command: ['sleep', '60'] } },
        { signal: controller.signal },
      );
      call.catch(() => undefined);
      await until('the container to run', async () => (await fleet.containers()).length === 1);
      controller.abort();
      await until('the container to be removed', async () => (await fleet.containers()).length === 0);
    });

    it('says when an allowed image is not on the engine (no pulls)', async () => {
      const images = await alice.call<{ images: Array<{ name: string; present: boolean }> }>('images');
      expect(images.images.find((i) => i.name === 'gone')).toMatchObject({ present: false });
      const refused = alice.call('run', { image: 'gone', command: ['true'] });
      await expect(refused).rejects.toMatchObject({ code: 'ERR_IMAGE_MISSING' });
      await expect(refused).rejects.toThrow(/never pulls/);
    });
  });

  it('serves without an engine and answers ERR_DOCKER_UNAVAILABLE', async () => {
    const fleet = await startRunnerFleet({
      runner: (images, name) => `socket: /nonexistent/docker.sock\n${runnerYaml(images, name)}`,
    });
    try {
      const alice = await fleet.connect('alice');
      for (const [tool, args] of [
        ['run', { image: 'busybox', command: ['true'] }],
        ['session_start', { image: 'busybox' }],
        ['images', {}],
      ] as const) {
        const refused = alice.call(tool, args);
        await expect(refused, tool).rejects.toMatchObject({ code: 'ERR_DOCKER_UNAVAILABLE' });
        await expect(refused, tool).rejects.toThrow(
          /no Docker engine reachable at \/nonexistent\/docker\.sock/,
        );
      }
    } finally {
      await fleet.close();
    }
  });
});
