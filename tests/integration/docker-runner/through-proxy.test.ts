// The docker runner through the real proxy, on a real Docker engine, with agents' own tokens: one-shot runs (exit
// codes, stdin, streamed output, caps, deadlines, OOM, pids, no network, read-only root), sessions (files and exec,
// owned by one agent), the allowlist and a policy enum narrowing images.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAvailable } from '../../support/services.ts';
import { startRunnerFleet, ToolError, type RunnerAgent, type RunnerFleet } from './harness.ts';

interface RunResult {
  exit_code: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  duration_ms: number;
  exit_reason: string;
}

async function refused(promise: Promise<unknown>): Promise<ToolError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ToolError) return error;
    throw error;
  }
  throw new Error('expected the call to be refused');
}

describe.runIf(serviceAvailable('docker'))('docker runner through the proxy', { timeout: 120_000 }, () => {
  let fleet: RunnerFleet;
  let alice: RunnerAgent;
  let bob: RunnerAgent;
  const run = (args: Record<string, unknown>, agent = alice) => agent.call<RunResult>('run', args);

  beforeAll(async () => {
    fleet = await startRunnerFleet();
    alice = await fleet.connect('alice');
    bob = await fleet.connect('bob');
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it('runs echo and removes the container', async () => {
    const result = await run({ image: 'busybox', command: ['echo', 'hello'] });
    expect(result).toMatchObject({
      exit_code: 0,
      stdout: 'hello\n',
      stderr: '',
      truncated: false,
      exit_reason: 'exited',
    });
    expect(await fleet.containers()).toEqual([]);
  });

  it('reports a non-zero exit with its stderr', async () => {
    const result = await run({ image: 'busybox', command: ['sh', '-c', 'echo oops >&2; exit 3'] });
    expect(result).toMatchObject({ exit_code: 3, stdout: '', stderr: 'oops\n', exit_reason: 'exited' });
  });

  it('pipes stdin to the command', async () => {
    const result = await run({
      image: 'busybox',
      command: ['sh', '-c', 'tr a-z A-Z; echo done'],
      stdin: 'piped in\n',
    });
    expect(result.stdout).toBe('PIPED IN\ndone\n');
  });

  it('caps a 10 MB output, flags it and kills the writer', async () => {
    const result = await run({
      image: 'busybox',
      command: ['sh', '-c', "head -c 10485760 /dev/zero | tr '\\0' a; echo never-reached >&2"],
    });
    expect(result.truncated).toBe(true);
    expect(result.exit_reason).toBe('output_limit');
    expect(result.stdout.length).toBe(1_048_576);
    expect(result.stdout).toMatch(/^a+$/);
    expect(await fleet.containers()).toEqual([]);
  });

  it('kills a run at its deadline and removes the container', async () => {
    const started = Date.now();
    const result = await run({ image: 'busybox', command: ['sleep', '60'], timeout_ms: 1_000 });
    expect(result.exit_reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await fleet.containers()).toEqual([]);
  });

  it('refuses a deadline longer than the image allows', async () => {
    const error = await refused(run({ image: 'busybox', command: ['true'], timeout_ms: 999_999 }));
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.message).toContain('timeout_ms');
  });

  it('reports a memory bomb as oom', async () => {
    const result = await run({
      image: 'busybox',
      command: ['sh', '-c', 'x=aaaaaaaa; while true; do x=$x$x; done'],
    });
    expect(result.exit_reason).toBe('oom');
    expect(result.exit_code).toBe(137);
  });

  it('holds a fork bomb at the pids limit', async () => {
    const result = await run({
      image: 'busybox',
      command: ['sh', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 3; echo survived'],
      timeout_ms: 6_000,
    });
    // Forks beyond the limit fail (the shell says so), the host is untouched, the runner answers on time.
    expect(result.stderr).toMatch(/can't fork|Resource temporarily unavailable/);
    expect(['timeout', 'exited']).toContain(result.exit_reason);
    expect(await fleet.containers()).toEqual([]);
    const after = await run({ image: 'busybox', command: ['echo', 'fine'] });
    expect(after.stdout).toBe('fine\n');
  });

  it('has no network: curl, wget and a raw socket fail', async () => {
    const curl = await run({ image: 'python', command: ['curl', '-sS', '-m', '3', 'http://1.1.1.1/'] });
    expect(curl.exit_code).not.toBe(0);
    expect(curl.stderr).toMatch(/Couldn't connect|resolve|unreachable/i);
    const wget = await run({ image: 'python', command: ['wget', '-T', '3', '-t', '1', 'http://1.1.1.1/'] });
    expect(wget.exit_code).not.toBe(0);
    expect(wget.stderr).toMatch(/Network is unreachable/);
    const raw = await run({
      image: 'python',
      command: [
        'python3',
        '-c',
        'import socket\ntry:\n  socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print("raw ok")\n' +
          'except OSError as e: print("raw", e.errno)\ntry:\n  socket.create_connection(("1.1.1.1", 80), timeout=3)\n' +
          'except OSError as e: print("tcp", e.errno)',
      ],
    });
    expect(raw.stdout).toBe('raw 1\ntcp 101\n'); // EPERM (no CAP_NET_RAW), ENETUNREACH
    const interfaces = await run({ image: 'busybox', command: ['cat', '/proc/net/dev'] });
    expect(interfaces.stdout).not.toMatch(/eth0/);
  });

  it('refuses writes to / and runs as a non-root user without capabilities', async () => {
    const result = await run({
      image: 'busybox',
      command: [
        'sh',
        '-c',
        'touch /x; echo "uid $(id -u)"; grep CapEff /proc/self/status; ls /var/run/docker.sock',
      ],
    });
    expect(result.stderr).toContain('touch: /x: Read-only file system');
    expect(result.stdout).toContain('uid 65534');
    expect(result.stdout).toMatch(/CapEff:\s+0000000000000000/);
    expect(result.stderr).toMatch(/docker\.sock: No such file/);
  });

  it('runs a session: write_file, exec, read_file', async () => {
    const session = await alice.call<{ session_id: string }>('session_start', { image: 'python' });
    expect(session.session_id).toMatch(/^ses_/);
    await alice.call('write_file', {
      session_id: session.session_id,
      path: 'main.py',
      content:
        'import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\nopen("out.txt", "w").write("written")\n',
    });
    const exec = await alice.call<RunResult>('exec', {
      session_id: session.session_id,
      command: ['python3', 'main.py'],
      stdin: '1 2 3 4',
    });
    expect(exec).toMatchObject({ exit_code: 0, stdout: '10\n', exit_reason: 'exited' });
    const read = await alice.call<{ content: string; encoding: string }>('read_file', {
      session_id: session.session_id,
      path: '/work/out.txt',
    });
    expect(read).toMatchObject({ content: 'written', encoding: 'utf8' });
    const binary = Buffer.from([0, 1, 2, 255, 254]);
    await alice.call('write_file', {
      session_id: session.session_id,
      path: '/tmp/blob.bin',
      content: binary.toString('base64'),
      encoding: 'base64',
    });
    const blob = await alice.call<{ content: string; encoding: string; size: number }>('read_file', {
      session_id: session.session_id,
      path: '/tmp/blob.bin',
    });
    expect(blob).toMatchObject({ encoding: 'base64', size: 5, content: binary.toString('base64') });
    const listed = await alice.call<{ sessions: Array<{ session_id: string }> }>('sessions');
    expect(listed.sessions.map((s) => s.session_id)).toEqual([session.session_id]);
    await alice.call('session_stop', { session_id: session.session_id });
    expect(await fleet.containers()).toEqual([]);
    expect((await alice.call<{ sessions: unknown[] }>('sessions')).sessions).toEqual([]);
  });

  it("denies a second agent the first agent's session", async () => {
    const { session_id } = await alice.call<{ session_id: string }>('session_start', { image: 'busybox' });
    try {
      for (const [tool, args] of [
        ['exec', { session_id, command: ['id'] }],
        ['write_file', { session_id, path: 'x', content: 'x' }],
        ['read_file', { session_id, path: 'x' }],
        ['session_stop', { session_id }],
      ] as const) {
        const error = await refused(bob.call(tool, args));
        expect(error.code, tool).toBe('ERR_SESSION_NOT_FOUND');
      }
      expect((await bob.call<{ sessions: unknown[] }>('sessions')).sessions).toEqual([]);
      // Still alice's, and still alive.
      const still = await alice.call<RunResult>('exec', { session_id, command: ['echo', 'mine'] });
      expect(still.stdout).toBe('mine\n');
    } finally {
      await alice.call('session_stop', { session_id });
    }
  });

  it('refuses an image outside the allowlist with a clear error', async () => {
    const error = await refused(run({ image: 'alpine', command: ['true'] }));
    expect(error.code).toBe('ERR_IMAGE_NOT_ALLOWED');
    expect(error.message).toContain('"alpine" is not on this runner\'s allowlist');
    expect(error.message).toContain('busybox, python');
    const images = await alice.call<{ images: Array<{ name: string; digest: string; present: boolean }> }>(
      'images',
    );
    expect(images.images.map((i) => [i.name, i.digest, i.present])).toEqual([
      ['busybox', fleet.images.busybox.id, true],
      ['python', fleet.images.python.id, true],
    ]);
  });

  it('keeps a policy enum narrowing images through the proxy', async () => {
    const carol = await fleet.connect('carol');
    // The proxy refuses before the runner sees the call: invalid arguments for this agent.
    for (const tool of ['run', 'session_start'])
      await expect(carol.call(tool, { image: 'python', command: ['true'] })).rejects.toThrow(
        /argument "image" must be one of "busybox"/,
      );
    expect(await fleet.containers()).toEqual([]);
    const allowed = await carol.call<RunResult>('run', { image: 'busybox', command: ['echo', 'ok'] });
    expect(allowed.stdout).toBe('ok\n');
  });
});

describe.runIf(serviceAvailable('docker')).each(['2025-11-25', 'auto'] as const)(
  'docker runner output streaming through the proxy (protocol %s to the runner)',
  (protocol) => {
    let fleet: RunnerFleet;
    let alice: RunnerAgent;
    const lines = ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.4; done; echo oops >&2'];

    beforeAll(async () => {
      fleet = await startRunnerFleet({ protocol });
      alice = await fleet.connect('alice');
    });
    afterAll(async () => {
      await fleet?.close();
    });

    it('streams output as progress while the command runs', { timeout: 60_000 }, async () => {
      const seen: Array<{ at: number; message?: string }> = [];
      const started = Date.now();
      const result = await alice.call<RunResult>(
        'run',
        { image: 'busybox', command: lines },
        { onprogress: (p) => seen.push({ at: Date.now() - started, message: p.message }) },
      );
      expect(result.stdout).toBe('line1\nline2\nline3\n');
      expect(seen.map((p) => p.message).join('')).toBe(`${result.stdout}${result.stderr}`);
      // Each line arrived on its own, long before the run ended.
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect(seen[0]!.at).toBeLessThan(seen[seen.length - 1]!.at - 500);
    });

    it(
      'streams output as log notifications to a caller without a progress token',
      { timeout: 60_000 },
      async () => {
        const logged: Array<{ stream: string; text: string }> = [];
        alice.client.setNotificationHandler('notifications/message', (n) => {
          const data = n.params.data as { stream?: string; text?: string };
          if (data.stream !== undefined) logged.push({ stream: data.stream, text: data.text ?? '' });
        });
        await alice.client.setLoggingLevel('info');
        const result = await alice.call<RunResult>('run', { image: 'busybox', command: lines });
        const text = (stream: string) =>
          logged
            .filter((l) => l.stream === stream)
            .map((l) => l.text)
            .join('');
        expect(text('stdout')).toBe(result.stdout);
        expect(text('stderr')).toBe('oops\n');
      },
    );
  },
);
