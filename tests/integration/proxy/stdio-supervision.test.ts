// The proxy's stdio children run under the shared supervisor (`supervisor/`) (ARCHITECTURE.md decision 9): their pid, state,
// last error, restarts and stderr tail show in upstreamStates(); they live in their own process group and die with
// the proxy even when it is SIGKILLed; a hung child is restarted by ping; their lines carry the `[id]` prefix.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildLogLine } from '../../../supervisor/child-log.ts';
import { isGone } from '../launcher/helpers.ts';
import { node, startHarness, waitFor, type Harness } from './harness.ts';

const stdioChild = new URL('../../fixtures/children/stdio-child.ts', import.meta.url).pathname;
const holder = new URL('../../fixtures/proxy/start-and-close.ts', import.meta.url).pathname;
const allowAll = `
policy:
  rules:
    - { id: all, subjects: ['*'], servers: ['*'], allow: ['*'] }
`;
const child = (id: string, flags: string[], extra = '') => `
  - id: ${id}
    transport: stdio
    command: ${JSON.stringify(node)}
    args: [${[stdioChild, ...flags].map((a) => JSON.stringify(a)).join(', ')}]
    ${extra}`;

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

describe('stdio children supervised by the proxy', () => {
  it('reports a child that crashes at start as crash-looping, with its exit code and stderr tail', async () => {
    const h = await startHarness(
      `servers:${child('broken', ['--crash-at-start'], 'restart: { maxRestarts: 1, windowMs: 60000, backoffMs: 20 }')}${allowAll}`,
    );
    harnesses.push(h);
    await waitFor(() => h.gateway.upstreamStates()[0]?.state === 'crash-looping');
    const state = h.gateway.upstreamStates()[0]!;
    expect(state).toMatchObject({ id: 'broken', transport: 'stdio', state: 'crash-looping', restarts: 1 });
    expect(state.lastError).toMatch(/exited with code 3/);
    expect(state.stderrTail).toContain('fatal: cannot open database ./missing.db');
    expect(state.pid).toBeUndefined();
  });

  it('runs a child in its own process group, shows its pid, and stops the whole group on close', async () => {
    const lines: ChildLogLine[] = [];
    const h = await startHarness(`servers:${child('grand', ['--grandchild'])}${allowAll}`, {
      supervision: { onLog: (entry) => lines.push(entry) },
    });
    const state = h.gateway.upstreamStates()[0]!;
    expect(state).toMatchObject({ state: 'ready', address: 'stdio', tools: 2 });
    const pid = state.pid!;
    expect(() => process.kill(-pid, 0)).not.toThrow(); // pid is its process group id
    expect(lines).toContainEqual({ id: 'grand', stream: 'stderr', line: `stdio-child ${pid} starting` });
    await h.close();
    expect(await isGone(pid)).toBe(true);
  });

  it('restarts a child that stops answering ping, and its tools come back', async () => {
    const h = await startHarness(`servers:${child('deaf', ['--hang-after-ready'])}${allowAll}`, {
      callTimeoutMs: 500,
      supervision: { ping: { intervalMs: 150, timeoutMs: 150 } },
    });
    harnesses.push(h);
    const first = h.gateway.upstreamStates()[0]!.pid;
    await waitFor(() => (h.gateway.upstreamStates()[0]!.restarts ?? 0) >= 1, 10_000);
    const state = h.gateway.upstreamStates()[0]!;
    expect(state.stderrTail?.join('\n')).toMatch(/did not answer ping/);
    await waitFor(() => {
      const now = h.gateway.upstreamStates()[0]!;
      return now.state === 'ready' && now.pid !== first;
    }, 10_000);
  });

  it('leaves no stdio child behind when the proxy process is killed with SIGKILL', async () => {
    const proc = spawn(node, [holder, '--hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let helpers: number[] = [];
    try {
      const pids = await new Promise<number[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('proxy did not report its children')), 30_000);
        createInterface({ input: proc.stdout }).on('line', (line) => {
          const parsed = JSON.parse(line) as { pids?: number[]; helpers?: number[] };
          if (parsed.pids) {
            clearTimeout(timer);
            helpers = parsed.helpers ?? [];
            resolve(parsed.pids);
          }
        });
      });
      expect(pids.length).toBeGreaterThanOrEqual(1);
      proc.kill('SIGKILL');
      for (const pid of pids) expect(await isGone(pid, 5_000)).toBe(true);
    } finally {
      proc.kill('SIGKILL');
      // The fixture's own HTTP child is not the proxy's to stop: it would outlive the test.
      for (const pid of helpers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});
