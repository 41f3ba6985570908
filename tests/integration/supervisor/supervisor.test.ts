// The supervisor against real child processes that misbehave on purpose: each is reported clearly, restarted or
// given up as configured, stopped within its deadline, and leaves no process (checked by pid and process group).
import { createServer } from 'node:net';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import type { RestartPolicy } from '../../../supervisor/backoff.ts';
import {
  supervise,
  type ChildSpec,
  type ReadyChild,
  type Supervisor,
} from '../../../supervisor/supervisor.ts';
import { fixturesDir, httpChild, isGone, stdioChild, waitFor } from '../launcher/helpers.ts';

const fastRestart: RestartPolicy = {
  policy: 'on-failure',
  maxRestarts: 2,
  windowMs: 60_000,
  backoffMs: 20,
  maxBackoffMs: 100,
};
const running: Supervisor[] = [];
const pids = new Set<number>();

function start(spec: Partial<ChildSpec> & { args: string[] }, hooks: Parameters<typeof supervise>[1] = {}) {
  const supervisor = supervise(
    {
      id: 'fixture',
      transport: 'stdio',
      command: process.execPath,
      readyTimeoutMs: 5_000,
      restart: fastRestart,
      ...spec,
    },
    {
      ...hooks,
      onStateChange: (status) => {
        if (status.pid !== undefined) pids.add(status.pid);
        hooks.onStateChange?.(status);
      },
    },
  );
  running.push(supervisor);
  return supervisor;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((supervisor) => supervisor.stop()));
  for (const pid of pids) expect(await isGone(pid), `process ${pid} left behind`).toBe(true);
  pids.clear();
});

describe('supervisor', () => {
  it('starts a stdio child, reports its tools, and stops it by closing stdin', async () => {
    const child = start({ args: [stdioChild, '--tools', 'echo,add,sum'] });
    const outcome = await child.start();
    expect(outcome.ok).toBe(true);
    expect(outcome.status).toMatchObject({
      state: 'ready',
      address: 'stdio',
      tools: 3,
      toolNames: ['echo', 'add', 'sum'],
    });
    expect(outcome.status.pid).toBeGreaterThan(0);
    const result = await child.client()!.callTool({ name: 'echo', arguments: { text: 'hi' } });
    expect(JSON.stringify(result)).toContain('hi');
    expect(await child.stop()).toBe('stdin');
    expect(child.status().state).toBe('stopped');
  });

  it('reports a child that crashes at start with its exit code and stderr, then marks it crash-looping', async () => {
    const child = start({ args: [stdioChild, '--crash-at-start'] });
    const outcome = await child.start();
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toBe('exited with code 3 before it was ready');
    await waitFor(() => child.status().state === 'crash-looping', 10_000, 'crash-looping');
    const status = child.status();
    expect(status.restarts).toBe(2);
    expect(status.lastError).toBe('exited with code 3 before it was ready');
    expect(status.stderrTail).toContain('fatal: cannot open database ./missing.db');
    expect(status.stderrTail.at(-1)).toMatch(/3 failures in the restart window: crash-looping, left down/);
    expect(status.pid).toBeUndefined();
  });

  it('restarts a child that crashes after N calls and hands over a fresh client with its tools', async () => {
    const ready: ReadyChild[] = [];
    const downs: string[] = [];
    const child = start(
      { args: [stdioChild, '--crash-after', '2'] },
      { onReady: (r) => ready.push(r), onDown: (status) => downs.push(status.state) },
    );
    expect((await child.start()).ok).toBe(true);
    const firstPid = child.status().pid;
    await child.client()!.callTool({ name: 'echo', arguments: {} });
    await child.client()!.callTool({ name: 'echo', arguments: {} });
    await waitFor(() => ready.length === 2, 10_000, 'the restarted child to be ready');
    expect(downs).toEqual(['down']);
    const status = child.status();
    expect(status).toMatchObject({ state: 'ready', restarts: 1, tools: 2, lastError: 'exited with code 1' });
    expect(status.pid).not.toBe(firstPid);
    expect(ready[1]!.client).not.toBe(ready[0]!.client);
    const result = await ready[1]!.client.callTool({ name: 'add', arguments: {} });
    expect(JSON.stringify(result)).toContain('call 1');
  });

  /** The pids a --say-pid child wrote to its stderr tail. */
  const saidPids = (tail: readonly string[] | undefined): number[] =>
    (tail ?? []).flatMap((line) => /^pid (\d+)$/.exec(line)?.[1] ?? []).map(Number);

  it('restarts a child that hangs in initialize, gives up after maxRestarts, and leaves no process', async () => {
    const child = start({
      args: [stdioChild, '--hang-initialize', '--say-pid'],
      readyTimeoutMs: 300,
      restart: { ...fastRestart, maxRestarts: 1 },
    });
    const outcome = await child.start();
    expect(outcome.ok).toBe(false);
    await waitFor(() => child.status().state === 'crash-looping', 10_000);
    const status = child.status();
    expect(status.restarts).toBe(1);
    expect(status.lastError).toMatch(/initialize handshake did not finish in time/);
    const seen = saidPids(status.stderrTail);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    for (const pid of seen) expect(await isGone(pid), `process ${pid} left behind`).toBe(true);
  });

  it('gives up on a child that hangs in initialize after readyTimeoutMs and kills it', async () => {
    const child = start({
      args: [stdioChild, '--hang-initialize', '--say-pid'],
      readyTimeoutMs: 400,
      restart: { ...fastRestart, policy: 'never' },
    });
    const started = Date.now();
    const outcome = await child.start();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error).toBe(
        'not ready: the MCP initialize handshake did not finish in time (readyTimeoutMs 400)',
      );
    }
    expect(child.status().state).toBe('down');
    const [pid] = saidPids(child.status().stderrTail);
    expect(pid).toBeGreaterThan(0);
    expect(await isGone(pid!), `process ${pid} left behind`).toBe(true);
  });

  it('escalates to SIGKILL for a child that ignores stdin EOF and SIGTERM, within the deadline', async () => {
    const child = start({
      args: [stdioChild, '--ignore-sigterm'],
      shutdown: { stdinGraceMs: 200, termGraceMs: 300 },
    });
    expect((await child.start()).ok).toBe(true);
    const started = Date.now();
    expect(await child.stop()).toBe('sigkill');
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(child.status().stderrTail).toContain('ignoring SIGTERM');
  });

  it('stops the whole process group, grandchildren included', async () => {
    const child = start({ args: [stdioChild, '--grandchild'] });
    expect((await child.start()).ok).toBe(true);
    const grandchild = Number(/grandchild pid (\d+)/.exec(child.status().stderrTail.join('\n'))?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    await child.stop();
    expect(await isGone(grandchild, 6_000)).toBe(true); // an orphan is reaped by PID 1, which may be slow
  });

  it('keeps serving a child that floods stdout with garbage, and says so', async () => {
    const child = start({ args: [stdioChild, '--flood-stdout'] });
    expect((await child.start()).ok).toBe(true);
    const result = await child.client()!.callTool({ name: 'echo', arguments: { n: 1 } });
    expect(JSON.stringify(result)).toContain('call 1');
    expect(child.status().stderrTail).toContain(
      'ignored a stdout line that is not JSON-RPC: garbage line: this is not JSON-RPC at all',
    );
    expect(await child.stop()).toBe('stdin');
  });

  it('restarts a child that stops answering ping', async () => {
    const child = start({
      args: [stdioChild, '--hang-after-ready'],
      ping: { intervalMs: 150, timeoutMs: 150 },
    });
    expect((await child.start()).ok).toBe(true);
    await waitFor(
      () => child.status().restarts >= 1 && child.status().state === 'ready',
      10_000,
      'a restart',
    );
    expect(child.status().stderrTail.join('\n')).toMatch(/did not answer ping within 150 ms/);
  });

  it('reads the listening line of an HTTP child and checks readiness over MCP', async () => {
    const logs: string[] = [];
    const child = start(
      { id: 'web', transport: 'http', args: [httpChild, '--tools', 'greet,wave'] },
      { onLog: (entry) => logs.push(`[${entry.id}] ${entry.line}`) },
    );
    const outcome = await child.start();
    expect(outcome.ok).toBe(true);
    expect(outcome.status.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(outcome.status.toolNames).toEqual(['greet', 'wave']);
    expect(logs).toContain('[web] http-child warming up');
    expect(await child.stop()).toBe('sigterm');
  });

  it.each([
    ['its listening line', []],
    ['its port accepting connections', ['--no-listening-line']],
  ])(
    'waits for a fixed-port HTTP child that starts slowly, by %s, instead of restarting it',
    async (_how, flags) => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/mcp`;
      const child = start({
        id: 'slow',
        transport: 'http',
        url,
        args: [httpChild, '--port', String(port), '--listen-after-ms', '600', ...flags],
      });
      const outcome = await child.start();
      expect(outcome.ok).toBe(true);
      expect(outcome.status).toMatchObject({ address: url, restarts: 0, state: 'ready' });
      expect(outcome.status.stderrTail.join('\n')).not.toMatch(/not ready|restart/);
    },
  );

  it('leaves no timer behind for an HTTP child that exits before it listens: the process exits by itself', async () => {
    const script = `
      import { supervise } from ${JSON.stringify(new URL('../../../supervisor/supervisor.ts', import.meta.url).pathname)};
      const child = supervise({ id: 'gone', transport: 'http', command: process.execPath,
        args: [${JSON.stringify(stdioChild)}, '--crash-at-start'], readyTimeoutMs: 30000,
        restart: { policy: 'on-failure', maxRestarts: 1, windowMs: 60000, backoffMs: 10, maxBackoffMs: 10 } });
      const outcome = await child.start();
      while (child.status().state !== 'crash-looping') await new Promise((r) => setTimeout(r, 10));
      await child.stop();
      console.log(JSON.stringify({ ok: outcome.ok, state: child.status().state }));`;
    const started = Date.now();
    const result = await execa(process.execPath, ['--input-type=module', '-e', script], {
      reject: false,
      timeout: 20_000,
    });
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ok: false, state: 'stopped' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails readiness for an HTTP child that never prints where it listens', async () => {
    const child = start({
      id: 'mute',
      transport: 'http',
      args: [stdioChild],
      readyTimeoutMs: 300,
      restart: { ...fastRestart, policy: 'never' },
    });
    const outcome = await child.start();
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error).toMatch(/listening"} line on stdout did not finish in time/);
  });

  it('leaves no child behind when the launcher itself is killed with SIGKILL', async () => {
    const launcher = execa(process.execPath, [`${fixturesDir}mini-launcher.ts`], {
      buffer: false,
      reject: false,
    });
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      launcher.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text.split('\n')[0]!);
      });
      launcher.nodeChildProcess.once('exit', () => reject(new Error('mini launcher exited early')));
    });
    const report = JSON.parse(line) as { ready: boolean; pids: number[] };
    expect(report.ready).toBe(true);
    expect(report.pids).toHaveLength(3);
    for (const pid of report.pids) expect(await isGone(pid, 100)).toBe(false);
    launcher.kill('SIGKILL');
    await launcher;
    for (const pid of report.pids)
      expect(await isGone(pid), `process ${pid} outlived the launcher`).toBe(true);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
