// A closed proxy leaves nothing that keeps the event loop alive: no restart or retry timer, socket or child pipe.
// The fixture starts a proxy with stdio children (ready, crashed mid-call with a restart pending, failing to start)
// and HTTP children (ready, unreachable with a retry pending), serves an agent, closes, and must then exit by
// itself — `mcpcp up` relies on this to end after `mcpcp down` without a forced exit.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const fixture = new URL('../../fixtures/proxy/start-and-close.ts', import.meta.url).pathname;

describe('a closed proxy', () => {
  it('lets its process exit by itself within a few seconds', async () => {
    const proc = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let closedAt: number | undefined;
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (closedAt === undefined && stdout.includes('"closed":true')) closedAt = Date.now();
    });
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(() => proc.kill('SIGKILL'), 40_000);
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    clearTimeout(killer);
    expect(closedAt, `never closed: ${stderr}`).toBeDefined();
    expect(Date.now() - closedAt!).toBeLessThan(3_000);
    expect(code).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { states: string[] };
    expect(report.states).toEqual(['good:ready', 'crashy:down', 'failing:down', 'web:ready', 'gone:down']);
  }, 60_000);
});
