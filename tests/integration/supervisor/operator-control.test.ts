// The operator's stop and restart (the console's buttons) against real child processes: a stop leaves the child
// down whatever the restart policy until a restart brings a fresh process; a restart gives a crash-looping child
// another chance; after the final stop() nothing starts it again. No process is left behind.
import { afterEach, describe, expect, it } from 'vitest';
import type { RestartPolicy } from '../../../supervisor/backoff.ts';
import { supervise, type ChildSpec, type Supervisor } from '../../../supervisor/supervisor.ts';
import { isGone, stdioChild, waitFor } from '../launcher/helpers.ts';

const fastRestart: RestartPolicy = {
  policy: 'always',
  maxRestarts: 2,
  windowMs: 60_000,
  backoffMs: 20,
  maxBackoffMs: 100,
};
const running: Supervisor[] = [];
const pids = new Set<number>();

function start(args: string[], spec: Partial<ChildSpec> = {}): Supervisor {
  const supervisor = supervise(
    {
      id: 'fixture',
      transport: 'stdio',
      command: process.execPath,
      args,
      readyTimeoutMs: 5_000,
      restart: fastRestart,
      ...spec,
    },
    {
      onStateChange: (status) => {
        if (status.pid !== undefined) pids.add(status.pid);
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

describe('operator stop and restart', () => {
  it('halt stops the child for good even under restart policy "always", until restart', async () => {
    const child = start([stdioChild, '--tools', 'echo']);
    expect((await child.start()).ok).toBe(true);
    const firstPid = child.status().pid!;
    await child.halt();
    expect(child.status().state).toBe('stopped');
    expect(await isGone(firstPid)).toBe(true);
    // Well past the backoff: no restart came.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(child.status().state).toBe('stopped');
    expect(child.status().stderrTail.join('\n')).toContain('stopped by the operator');

    await child.restart();
    await waitFor(() => child.status().state === 'ready', 10_000, 'ready after restart');
    expect(child.status().pid).not.toBe(firstPid);
    const result = await child.client()!.callTool({ name: 'echo', arguments: { text: 'back' } });
    expect(JSON.stringify(result)).toContain('back');
  });

  it('restart replaces a running child with a fresh process and counts a restart', async () => {
    const child = start([stdioChild, '--tools', 'echo']);
    expect((await child.start()).ok).toBe(true);
    const firstPid = child.status().pid!;
    await child.restart();
    await waitFor(() => child.status().state === 'ready', 10_000, 'ready after restart');
    expect(child.status().pid).not.toBe(firstPid);
    expect(child.status().restarts).toBe(1);
    expect(await isGone(firstPid)).toBe(true);
  });

  it('restart gives a crash-looping child another chance (its crash history is forgotten)', async () => {
    const child = start([stdioChild, '--crash-at-start'], {
      restart: { ...fastRestart, policy: 'on-failure', maxRestarts: 1 },
    });
    await child.start();
    await waitFor(() => child.status().state === 'crash-looping', 10_000, 'crash-looping');
    const before = child.status().restarts;
    await child.restart();
    // It crashes again, is restarted again (history forgotten: one more restart allowed), then gives up again.
    await waitFor(() => child.status().restarts > before + 1, 10_000, 'restarts after the operator restart');
    await waitFor(() => child.status().state === 'crash-looping', 10_000, 'crash-looping again');
  });

  it('after stop() neither restart nor halt starts anything', async () => {
    const child = start([stdioChild, '--tools', 'echo']);
    expect((await child.start()).ok).toBe(true);
    await child.stop();
    await expect(child.restart()).rejects.toThrow('stopped for good');
    await child.halt();
    expect(child.status().state).toBe('stopped');
    expect(child.status().pid).toBeUndefined();
  });
});
