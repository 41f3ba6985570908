// Docker runner benchmark, each figure a ratio against the docker CLI measured in the same run (interleaved, so both
// sides see the same machine): `run` of `true` through the proxy vs `docker run --rm` of the same image with the same
// hardened flags; `exec` in a warm session vs `docker exec` into the same container; 8 concurrent runs through the
// proxy (no failure allowed) vs 8 concurrent `docker run --rm`. The runner and the proxy run in their own processes,
// as `mcpcp up` starts them; the load comes from the thin client of bench/mcp-http-client.ts.
//   node bench/docker-runner.ts [--runs 15] [--rounds 3] [--json-only]
// Prints a table to stderr and one JSON line to stdout. Targets (issue 17): run ≤ 1.2×, exec ≤ 1.2×, 8 concurrent
// runs with no failure.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs, promisify } from 'node:util';
import { generateKeyPair, loadSigner } from '../auth/keys.ts';
import { issueAgentToken } from '../auth/tokens.ts';
import { labelKeys } from '../servers/docker-runner/labels.ts';
import { testImages } from '../tests/support/docker-images.ts';
import { BenchSession, destroyAgent } from './mcp-http-client.ts';
import { startProxyProcess } from './processes.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    'json-only': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const rounds = Number(values.rounds);
const say = (line: string): void => {
  if (!values['json-only']) console.error(line);
};
const exec = promisify(execFile);

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
const r1 = (n: number) => Math.round(n * 10) / 10;
const r2 = (n: number) => Math.round(n * 100) / 100;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** The docker CLI flags equal to the runner's profile for the bench image (servers/docker-runner/profile.ts). */
function hardenedFlags(): string[] {
  const tmpfs = 'rw,nosuid,nodev,noexec,size=64m,uid=65534,gid=65534,mode=0700';
  return [
    ...['--network', 'none', '--read-only', '--tmpfs', `/tmp:${tmpfs}`, '--tmpfs', `/work:${tmpfs}`],
    ...['-w', '/work', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--user', '65534:65534'],
    ...['--pids-limit', '128', '--memory', '256m', '--memory-swap', '256m', '--cpus', '1', '--init'],
    ...['--ipc', 'private', '--shm-size', '8m', '--ulimit', 'nofile=1024:1024', '--log-driver', 'none'],
    ...['--hostname', 'sandbox', '--entrypoint', ''],
  ];
}

async function startRunner(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      join(import.meta.dirname, '../launcher/bin/start-up.js'),
      'servers/docker-runner/main.ts',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '', MCPCP_LOG_LEVEL: 'warn' } },
  );
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line) as { event?: string; url?: string };
      if (event.event === 'listening' && event.url !== undefined) resolve(event.url);
    });
    child.once('exit', (code) => reject(new Error(`docker runner exited with ${code}`)));
  });
  return { child, url };
}

interface RunAnswer {
  structuredContent?: { exit_code?: number; stdout?: string; exit_reason?: string; session_id?: string };
  isError?: boolean;
}

const images = await testImages();
const dir = await mkdtemp(join(tmpdir(), 'mcpcp-bench-docker-'));
const fleet = `bench-${randomBytes(6).toString('hex')}`;
const issuer = 'http://mcpcp.bench';
const keysDir = join(dir, 'keys');
await generateKeyPair(keysDir);
const runnerFile = join(dir, 'docker-runner.yaml');
await writeFile(
  runnerFile,
  `fleet: ${fleet}
concurrency: { running: 8, queued: 64 }
images:
  busybox: { ref: ${images.busybox.ref}, digest: ${images.busybox.id} }
`,
);
// Whatever happens from here on, the processes and the folder go (and the runner removes its containers).
const started: ChildProcess[] = [];
async function cleanUp(): Promise<void> {
  destroyAgent();
  for (const child of started.reverse()) {
    if (child.exitCode !== null) continue;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  await rm(dir, { recursive: true, force: true });
}
process.once('uncaughtException', (error) => {
  console.error(error);
  void cleanUp().finally(() => process.exit(1));
});
const runner = await startRunner([
  ...['--keys-dir', keysDir, '--issuer', issuer, '--child-id', 'docker', '--data-dir', join(dir, 'data')],
  ...['--runner-config', runnerFile],
]);
started.push(runner.child);
const configFile = join(dir, 'mcpcp.yaml');
await writeFile(
  configFile,
  `proxy:
  listen: { host: 127.0.0.1, port: 0 }
  issuer: ${issuer}
  keysDir: ./keys
servers:
  - { id: docker, transport: http, url: ${runner.url}, firstParty: true, protocol: 2025-11-25 }
agents: { bench: {} }
policy:
  rules:
    - { id: bench, subjects: [bench], servers: [docker], allow: ['docker_*'] }
`,
);
const proxy = await startProxyProcess(configFile, []);
started.push(proxy.child);
const token = await issueAgentToken(await loadSigner(keysDir), {
  issuer: proxy.issuer,
  audience: proxy.resource,
  agent: 'bench',
  ttlSeconds: 3_600,
});
const sessions = await Promise.all(Array.from({ length: 8 }, () => BenchSession.open(proxy.mcpUrl, token)));
const client = sessions[0]!;
const call = async (session: BenchSession, name: string, args: Record<string, unknown>) => {
  const answer = (await session.call('tools/call', { name: `docker_${name}`, arguments: args })) as RunAnswer;
  if (answer.isError === true) throw new Error(`${name} failed: ${JSON.stringify(answer)}`);
  return answer.structuredContent ?? {};
};
const cliRun = (command: string[]) =>
  exec('docker', ['run', '--rm', ...hardenedFlags(), images.busybox.id, ...command]);

try {
  say(
    `docker runner bench: ${runs} runs, ${rounds} rounds of 8 concurrent runs (image ${images.busybox.ref})`,
  );
  // Warm both paths (image layers, the runner's image lookup, the proxy's session with the runner).
  for (let i = 0; i < 2; i += 1) {
    await call(client, 'run', { image: 'busybox', command: ['true'] });
    await cliRun(['true']);
  }

  const runProxy: number[] = [];
  const runCli: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    runProxy.push(
      await timed(async () => {
        const result = await call(client, 'run', { image: 'busybox', command: ['true'] });
        if (result.exit_code !== 0) throw new Error(`run true: ${JSON.stringify(result)}`);
      }),
    );
    runCli.push(await timed(() => cliRun(['true'])));
  }

  const session = await call(client, 'session_start', { image: 'busybox' });
  const sessionId = session.session_id!;
  const { stdout: found } = await exec('docker', [
    ...['ps', '-q', '--no-trunc', '--filter', `label=${labelKeys.session}=${sessionId}`],
  ]);
  const containerId = found.trim();
  const cliExec = () => exec('docker', ['exec', '-u', '65534:65534', '-w', '/work', containerId, 'true']);
  for (let i = 0; i < 2; i += 1) {
    await call(client, 'exec', { session_id: sessionId, command: ['true'] });
    await cliExec();
  }
  const execProxy: number[] = [];
  const execCli: number[] = [];
  for (let i = 0; i < runs * 2; i += 1) {
    execProxy.push(
      await timed(async () => {
        const result = await call(client, 'exec', { session_id: sessionId, command: ['true'] });
        if (result.exit_code !== 0) throw new Error(`exec true: ${JSON.stringify(result)}`);
      }),
    );
    execCli.push(await timed(cliExec));
  }
  await call(client, 'session_stop', { session_id: sessionId });

  // What the CLI pays before it talks to the engine at all (process start), to read the ratios with.
  const cliStart: number[] = [];
  for (let i = 0; i < runs; i += 1) cliStart.push(await timed(() => exec('docker', ['--version'])));

  let failures = 0;
  const concurrentProxy: number[] = [];
  const concurrentCli: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    concurrentProxy.push(
      await timed(() =>
        Promise.all(
          sessions.map(async (s, i) => {
            try {
              const result = await call(s, 'run', { image: 'busybox', command: ['echo', String(i)] });
              if (result.stdout !== `${i}\n` || result.exit_reason !== 'exited') failures += 1;
            } catch {
              failures += 1;
            }
          }),
        ),
      ),
    );
    concurrentCli.push(await timed(() => Promise.all(sessions.map((_, i) => cliRun(['echo', String(i)])))));
  }

  const figures = {
    runProxyP50Ms: r1(median(runProxy)),
    runCliP50Ms: r1(median(runCli)),
    runRatio: r2(median(runProxy) / median(runCli)),
    execProxyP50Ms: r1(median(execProxy)),
    execCliP50Ms: r1(median(execCli)),
    execRatio: r2(median(execProxy) / median(execCli)),
    concurrent8ProxyMs: r1(median(concurrentProxy)),
    concurrent8CliMs: r1(median(concurrentCli)),
    concurrent8Ratio: r2(median(concurrentProxy) / median(concurrentCli)),
    concurrent8Failures: failures,
    cliStartP50Ms: r1(median(cliStart)),
  };
  const rows: Array<[string, string, string, boolean]> = [
    [
      'run `true` p50, proxy ÷ docker run --rm',
      `${figures.runRatio}× (${figures.runProxyP50Ms} / ${figures.runCliP50Ms} ms)`,
      '≤ 1.2×',
      figures.runRatio <= 1.2,
    ],
    [
      'exec `true` p50, proxy ÷ docker exec',
      `${figures.execRatio}× (${figures.execProxyP50Ms} / ${figures.execCliP50Ms} ms)`,
      '≤ 1.2×',
      figures.execRatio <= 1.2,
    ],
    [
      '8 concurrent runs, proxy ÷ CLI (wall)',
      `${figures.concurrent8Ratio}× (${figures.concurrent8ProxyMs} / ${figures.concurrent8CliMs} ms)`,
      'report',
      true,
    ],
    ['8 concurrent runs, failures', String(failures), '0', failures === 0],
    ['docker CLI start (`docker --version`) p50', `${figures.cliStartP50Ms} ms`, 'report', true],
  ];
  say('');
  for (const [figure, measured, target, met] of rows)
    say(`${figure.padEnd(42)} ${measured.padEnd(30)} ${target.padEnd(8)} ${met ? 'met' : 'NOT met'}`);
  console.log(JSON.stringify({ bench: 'docker-runner', runs, rounds, ...figures }));
} finally {
  await Promise.allSettled(sessions.map((s) => s.close()));
  await cleanUp();
}
