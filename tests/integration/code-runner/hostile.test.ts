// Hostile programs (tests/fixtures/code-runner/, each naming the exit_reason it must end with) run through the real
// proxy as an agent. Each ends with that exit_reason, touches nothing on the host (a TCP port that counts
// connections, a host folder that must stay empty), and leaves the server serving: a plain run follows every one.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodeRunnerHarness, type CodeAgent, type CodeRunnerHarness } from './harness.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/code-runner/', import.meta.url));

interface Program {
  file: string;
  tool: 'run_python' | 'run_javascript';
  code: string;
  exit: string;
  errorType: string | undefined;
  stdin: string | undefined;
  timeoutMs: number | undefined;
}

async function loadPrograms(): Promise<Program[]> {
  const files = (await readdir(fixtures)).filter((f) => f.endsWith('.py') || f.endsWith('.js')).sort();
  const programs: Program[] = [];
  for (const file of files) {
    if (file === 'confinement-probe.js') continue;
    const code = await readFile(join(fixtures, file), 'utf8');
    const header = (key: string): string | undefined =>
      new RegExp(`^(?:#|//) ${key}: (.*)$`, 'm').exec(code)?.[1]?.trim();
    const [exit, errorType] = (header('expect') ?? '').split(/\s+/);
    if (!exit) throw new Error(`${file} has no "expect:" line`);
    const timeout = header('timeout_ms');
    programs.push({
      file,
      tool: file.endsWith('.py') ? 'run_python' : 'run_javascript',
      code,
      exit,
      errorType,
      stdin: header('stdin'),
      timeoutMs: timeout === undefined ? undefined : Number(timeout),
    });
  }
  return programs;
}

const programs = await loadPrograms();
let harness: CodeRunnerHarness;
let agent: CodeAgent;
let listener: Server;
let connections = 0;
let port = 0;
let hostdir: string;

beforeAll(async () => {
  listener = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as { port: number }).port;
  hostdir = await mkdtemp(join(tmpdir(), 'mcpcp-hostile-'));
  harness = await startCodeRunnerHarness({ 'python-pool': '2' });
  agent = await harness.connect('alice');
  await harness.whenWarm();
}, 300_000);
afterAll(async () => {
  await harness?.close();
  await new Promise<void>((resolve) => listener?.close(() => resolve()));
  if (hostdir) await rm(hostdir, { recursive: true, force: true });
});

describe('hostile programs through the proxy', { timeout: 120_000 }, () => {
  it.each(programs.map((p) => [p.file, p] as const))(
    '%s ends cleanly and the server keeps serving',
    async (_file, program) => {
      const stdin = program.stdin?.replace('{port}', String(port)).replace('{hostdir}', hostdir);
      const out = await agent.run(program.tool, {
        code: program.code,
        ...(stdin === undefined ? {} : { stdin: `${stdin}\n` }),
        // the maximum unless the program says otherwise: a loaded machine must not turn "memory" into "timeout"
        timeout_ms: program.timeoutMs ?? 30_000,
      });
      expect({ exit: out.exit_reason, type: out.error?.type }).toMatchObject({
        exit: program.exit,
        ...(program.errorType ? { type: program.errorType } : {}),
      });
      // nothing reached the host
      expect(connections).toBe(0);
      expect(await readdir(hostdir)).toEqual([]);
      if (program.file === 'write-outside.py') expect(out.result).toEqual(['escape.txt']); // it saw its own copy
      if (program.file === 'js-host-access.js') {
        expect(out.result).toEqual({
          require: 'undefined',
          process: 'undefined',
          fetch: 'undefined',
          WebAssembly: 'undefined',
          setTimeout: 'undefined',
        });
      }
      if (program.exit === 'output_limit') {
        expect(Buffer.byteLength(out.stdout)).toBe(out.limits.output_bytes);
      }
      // the server is still there, and still right
      const after = await agent.run(program.tool, { code: '6 * 7' });
      expect(after).toMatchObject({ exit_reason: 'ok', result: 42 });
    },
  );

  it.each([
    ['run_python', 'state-leave.py', 'state-check.py'],
    ['run_javascript', 'js-state-leave.js', 'js-state-check.js'],
  ] as const)('%s: a run sees nothing a previous run left behind', async (tool, leave, check) => {
    const left = await agent.run(tool, { code: await readFile(join(fixtures, leave), 'utf8') });
    expect(left).toMatchObject({ exit_reason: 'ok', result: 'left' });
    const seen = await agent.run(tool, { code: await readFile(join(fixtures, check), 'utf8') });
    expect(seen.exit_reason).toBe('ok');
    expect(Object.values(seen.result as Record<string, boolean>).every((v) => v === false)).toBe(true);
    if (tool === 'run_javascript') expect(seen.stdout).toBe('still mine\n');
  });

  it('keeps two agents’ interleaved runs apart', async () => {
    const bob = await harness.connect('bob');
    const program = (who: string) =>
      `import time\nfor i in range(4):\n    print("${who}", i)\n    time.sleep(0.1)\n"${who}"`;
    const js = (who: string) => `for (let i = 0; i < 50; i++) console.log("${who}", i);\n"${who}"`;
    agent.logs.length = 0;
    const [a, b, aj, bj] = await Promise.all([
      agent.run('run_python', { code: program('alice') }),
      bob.run('run_python', { code: program('bob') }),
      agent.run('run_javascript', { code: js('alice') }),
      bob.run('run_javascript', { code: js('bob') }),
    ]);
    expect(a).toMatchObject({
      exit_reason: 'ok',
      result: 'alice',
      stdout: 'alice 0\nalice 1\nalice 2\nalice 3\n',
    });
    expect(b).toMatchObject({ exit_reason: 'ok', result: 'bob', stdout: 'bob 0\nbob 1\nbob 2\nbob 3\n' });
    expect(
      aj.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('alice ')),
    ).toBe(true);
    expect(
      bj.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith('bob ')),
    ).toBe(true);
    // each agent's stream carried only its own output
    expect(agent.logs.map((l) => l.text).join('')).not.toContain('bob');
    expect(bob.logs.map((l) => l.text).join('')).not.toContain('alice');
  });
});
