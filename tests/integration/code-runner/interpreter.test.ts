// The Python interpreter process and its pool, without the proxy: what JavaScript inside a locked-down interpreter
// can reach (a probe stands where a program that escaped Python would run), the pool's one-run-per-interpreter
// rule, its snapshot cache, cold loading giving the same answers, and a broken start-up failing runs clearly.
// The JavaScript pool's hard kill of a program stuck in a builtin is here too.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeRunnerLimits } from '../../../servers/code-runner/limits.ts';
import { createJsSnippetPool } from '../../../servers/sandbox/js-snippet-pool.ts';
import { createPythonPool } from '../../../servers/sandbox/pyodide-pool.ts';
import { spawnPythonProcess, type PythonProcessLimits } from '../../../servers/sandbox/pyodide-process.ts';
import { createChildWire } from '../../../servers/sandbox/pyodide-wire.ts';

const limits: PythonProcessLimits = {
  ...codeRunnerLimits.python,
  outputMaxBytes: codeRunnerLimits.outputBytes,
};
const probeModule = fileURLToPath(
  new URL('../../fixtures/code-runner/confinement-probe.js', import.meta.url),
);
const run = { code: 'import sys\nprint("hi")\nsys.version_info[0]', stdin: '', files: {} };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpcp-interpreter-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function probe(): Promise<Record<string, unknown>> {
  const { child } = spawnPythonProcess({ limits, probeModule });
  const wire = createChildWire(child);
  child.stdin?.end();
  return new Promise((resolve, reject) => {
    let report: Record<string, unknown> | undefined;
    wire.onMessage((message) => {
      if (message.t === 'probe') report = message.report as Record<string, unknown>;
    });
    child.once('exit', (code) =>
      report ? resolve(report) : reject(new Error(`probe exited ${code}: ${wire.stderrTail()}`)),
    );
  });
}

describe('a locked-down interpreter process', { timeout: 120_000 }, () => {
  it('leaves JavaScript no network, no modules, no processes, no writes and no host reads', async () => {
    const report = await probe();
    expect(report.globals).toEqual({
      fetch: 'undefined',
      WebSocket: 'undefined',
      EventSource: 'undefined',
      XMLHttpRequest: 'undefined',
      navigator: 'undefined',
      require: 'undefined',
      Request: 'undefined',
    });
    expect(
      Object.entries(report.modules as Record<string, boolean>).filter(([, refused]) => !refused),
    ).toEqual([]);
    expect(report).toMatchObject({
      getBuiltinModule: 'undefined',
      bindingTcp: true,
      bindingConstants: true,
      dlopen: 'undefined',
      kill: true,
      stdoutIsSocket: false,
      activeHandles: 'undefined',
      evalRefused: true,
      functionRefused: true,
      permissions: {
        fsWrite: false,
        fsReadEtc: false,
        child: false,
        worker: false,
        addon: false,
        inspector: false,
      },
      writeOutside: true,
      readEtc: true,
      wasmGrowCapped: true,
      env: 0,
    });
  });
});

describe('the Python pool', { timeout: 240_000 }, () => {
  it('gives each run its own interpreter, replaces it, and reuses its snapshot after a restart', async () => {
    const cacheDir = join(dir, 'cache');
    const pool = createPythonPool({ size: 1, cacheDir, limits });
    try {
      await pool.whenWarm();
      expect(pool.status()).toMatchObject({ ready: 1, started: 1, snapshot: 'made' });
      const first = await pool.run(run, { timeoutMs: 20_000 });
      expect(first).toMatchObject({ exit_reason: 'ok', stdout: 'hi\n', result: { json: '3' } });
      await pool.whenWarm();
      expect(pool.status()).toMatchObject({ ready: 1, started: 2 }); // the used one is gone, a new one waits
    } finally {
      await pool.close();
    }
    const again = createPythonPool({ size: 1, cacheDir, limits });
    try {
      await again.whenWarm();
      expect(again.status().snapshot).toBe('cached');
      expect(await again.run(run, { timeoutMs: 20_000 })).toMatchObject({
        exit_reason: 'ok',
        stdout: 'hi\n',
      });
    } finally {
      await again.close();
    }
  });

  it('answers the same without the snapshot (every interpreter loads cold)', async () => {
    const pool = createPythonPool({ size: 1, cacheDir: join(dir, 'cold'), limits, snapshots: false });
    try {
      const outcome = await pool.run(run, { timeoutMs: 20_000 });
      expect(outcome).toMatchObject({ exit_reason: 'ok', stdout: 'hi\n', result: { json: '3' } });
      expect(pool.status().snapshot).toBe('off');
    } finally {
      await pool.close();
    }
  });

  it('fails runs with ERR_RUNNER_UNAVAILABLE when interpreters cannot start', async () => {
    // no interpreter can load within 1 ms: every start-up fails
    const pool = createPythonPool({
      size: 1,
      cacheDir: join(dir, 'broken'),
      limits,
      snapshots: false,
      startTimeoutMs: 1,
    });
    try {
      await expect(pool.run(run, { timeoutMs: 5_000 })).rejects.toMatchObject({
        code: 'ERR_RUNNER_UNAVAILABLE',
      });
      expect(pool.status().failures).toBeGreaterThanOrEqual(3);
    } finally {
      await pool.close();
    }
  });
});

describe('the JavaScript pool', { timeout: 60_000 }, () => {
  it('kills a worker stuck in a builtin at its timeout and carries on with a fresh one', async () => {
    const pool = createJsSnippetPool({ size: 1, graceMs: 0 });
    const request = { stdin: '', timeoutMs: 50, memoryBytes: 32 * 1024 * 1024, outputMaxBytes: 1024 };
    try {
      // a default sort (numbers compared as strings) never polls QuickJS's interrupt handler
      const stuck = await pool.run({
        ...request,
        code: 'console.log("sorting"); const a = new Array(400000).fill(0); a.sort(); a.sort(); a.sort(); 1',
      });
      expect(stuck).toMatchObject({ exit_reason: 'timeout', stdout: 'sorting\n' });
      expect(pool.status().started).toBe(2);
      const next = await pool.run({ ...request, timeoutMs: 5_000, code: '6 * 7' });
      expect(next).toMatchObject({ exit_reason: 'ok', result: { json: '42' } });
    } finally {
      await pool.close();
    }
  });
});
