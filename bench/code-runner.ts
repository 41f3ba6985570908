// Code runner benchmark, ratios against baselines measured in the same run:
//   - warm run_python print(1) through the proxy (an agent token, the real proxy, the code-runner server, a warm
//     interpreter) against `python3 -c 'print(1)'` started as a process (target ≤ 1×); run_javascript the same;
//   - the pool's cold start: with no snapshot yet (made, then N interpreters restored from it) and with the cached one;
//   - runs per second with 4 concurrent agents (Python, then JavaScript), on this machine's cores;
//   - RSS of the warm pool (the interpreter processes) and of this process (proxy + server + JS workers).
//   node bench/code-runner.ts [--iterations 15] [--seconds 15] [--pool 2] [--json-only]
// Prints a table to stderr and one JSON line to stdout.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { generateKeyPair, loadSigner } from '../auth/keys.ts';
import { issueAgentToken } from '../auth/tokens.ts';
import { parseConfig } from '../config/load.ts';
import { createSilentLogger } from '../lib/log.ts';
import { startProxy } from '../proxy/start.ts';
import { startKitServer } from '../servers/_kit/main.ts';
import { codeRunnerLimits } from '../servers/code-runner/limits.ts';
import { codeRunnerServerSpec } from '../servers/code-runner/server.ts';
import { createPythonPool } from '../servers/sandbox/pyodide-pool.ts';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '15' },
    pool: { type: 'string', default: '2' },
    'json-only': { type: 'boolean', default: false },
  },
});
const iterations = Number(values.iterations);
const seconds = Number(values.seconds);
const poolSize = Number(values.pool);
const say = (line: string): void => {
  if (!values['json-only']) process.stderr.write(`${line}\n`);
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function python3Once(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) =>
    execFile('python3', ['-c', 'print(1)'], (error) =>
      error ? reject(new Error(error.message)) : resolve(performance.now() - started),
    ),
  );
}

/** Resident set of this process's child processes (the interpreters), bytes. */
function childrenRss(): Promise<number> {
  return new Promise((resolve) =>
    execFile('ps', ['-o', 'rss=', '--ppid', String(process.pid)], (_error, stdout) =>
      resolve(
        stdout
          .split('\n')
          .map(Number)
          .filter((kb) => kb > 0)
          .reduce((sum, kb) => sum + kb * 1024, 0),
      ),
    ),
  );
}

const dir = await mkdtemp(join(tmpdir(), 'mcpcp-bench-code-'));
const limits = { ...codeRunnerLimits.python, outputMaxBytes: codeRunnerLimits.outputBytes };
const report: Record<string, unknown> = { cores: cpus().length, node: process.version, pool: poolSize };
try {
  // --- pool cold start ---------------------------------------------------------------------------------------------
  const cacheDir = join(dir, 'cache');
  let started = performance.now();
  const first = createPythonPool({ size: poolSize, cacheDir, limits });
  await first.whenWarm();
  const coldMs = performance.now() - started;
  await first.close();
  started = performance.now();
  const second = createPythonPool({ size: poolSize, cacheDir, limits });
  await second.whenWarm();
  const cachedMs = performance.now() - started;
  await second.close();
  report.coldStart = { noSnapshotYetMs: Math.round(coldMs), cachedSnapshotMs: Math.round(cachedMs) };
  say(
    `pool of ${poolSize} ready: ${Math.round(coldMs)} ms (making the snapshot), ${Math.round(cachedMs)} ms (cached)`,
  );

  // --- the path: proxy + code-runner, agents with tokens -----------------------------------------------------------
  const keysDir = join(dir, 'keys');
  await generateKeyPair(keysDir);
  const issuer = 'http://mcpcp.bench';
  const runner = await startKitServer(codeRunnerServerSpec, {
    dataDir: join(dir, 'data'),
    keysDir,
    issuer,
    port: 0,
    logger: createSilentLogger(),
    flags: { 'python-pool': String(poolSize) },
  });
  const yaml = `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  issuer: ${issuer}
  keysDir: ./keys
servers:
  - id: code-runner
    transport: http
    url: ${runner.url}
    firstParty: true
    protocol: 2025-11-25
agents: { a0: {}, a1: {}, a2: {}, a3: {} }
policy:
  rules:
    - id: all
      subjects: [a0, a1, a2, a3]
      servers: [code-runner]
      allow: ['code-runner_*']
`;
  await writeFile(join(dir, 'mcpcp.yaml'), yaml);
  const proxy = await startProxy({
    config: parseConfig(yaml, join(dir, 'mcpcp.yaml')),
    logger: createSilentLogger(),
  });
  const signer = await loadSigner(keysDir);
  const agents = await Promise.all(
    [0, 1, 2, 3].map(async (i) => {
      const token = await issueAgentToken(signer, {
        issuer: proxy.urls.issuer,
        audience: proxy.urls.resource,
        agent: `a${i}`,
        ttlSeconds: 3600,
      });
      const client = new Client({ name: `a${i}`, version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(proxy.urls.resource), {
          requestInit: { headers: { Authorization: `Bearer ${token}` } },
        }),
      );
      return client;
    }),
  );
  const call = async (client: Client, tool: string, code: string): Promise<number> => {
    const t = performance.now();
    const result = await client.callTool(
      { name: `code-runner_${tool}`, arguments: { code } },
      { timeout: 120_000 },
    );
    if (result.isError) throw new Error(`run failed: ${JSON.stringify(result.content)}`);
    return performance.now() - t;
  };
  const poolReady = async (): Promise<void> => {
    for (;;) {
      const r = await agents[0]!.callTool({ name: 'code-runner_runtimes', arguments: {} });
      const pool = (r.structuredContent as { python: { pool: { ready: number; size: number } } }).python.pool;
      if (pool.ready >= pool.size) return;
      await sleep(100);
    }
  };

  // --- warm print(1) vs python3 ------------------------------------------------------------------------------------
  await poolReady();
  const warm: number[] = [];
  const js: number[] = [];
  const cpython: number[] = [];
  await python3Once();
  for (let i = 0; i < iterations; i += 1) {
    await poolReady(); // a warm interpreter is waiting, as for an agent that is not outrunning the pool
    warm.push(await call(agents[0]!, 'run_python', 'print(1)'));
    js.push(await call(agents[0]!, 'run_javascript', 'console.log(1)'));
    cpython.push(await python3Once());
  }
  const warmP50 = median(warm);
  const cpythonP50 = median(cpython);
  report.warm = {
    pythonP50Ms: round(warmP50),
    javascriptP50Ms: round(median(js)),
    python3ProcessP50Ms: round(cpythonP50),
    ratio: round(warmP50 / cpythonP50, 2),
  };
  say(
    `warm print(1) through the proxy p50 ${round(warmP50)} ms; python3 -c p50 ${round(cpythonP50)} ms; ` +
      `ratio ${round(warmP50 / cpythonP50, 2)}× (target ≤ 1×); run_javascript p50 ${round(median(js))} ms`,
  );

  // --- RSS of the warm pool --------------------------------------------------------------------------------------
  await poolReady();
  await sleep(500);
  const poolRss = await childrenRss();
  report.rss = {
    poolBytes: poolRss,
    perInterpreterBytes: Math.round(poolRss / poolSize),
    serverAndProxyBytes: process.memoryUsage().rss,
  };
  say(
    `RSS: pool ${Math.round(poolRss / 1048576)} MB (${Math.round(poolRss / poolSize / 1048576)} MB per interpreter); ` +
      `proxy + server + JS worker ${Math.round(process.memoryUsage().rss / 1048576)} MB`,
  );

  // --- throughput with 4 concurrent agents ------------------------------------------------------------------------
  for (const [tool, code] of [
    ['run_python', 'print(1)'],
    ['run_javascript', 'console.log(1)'],
  ] as const) {
    await poolReady();
    let runs = 0;
    const deadline = performance.now() + seconds * 1000;
    const begun = performance.now();
    await Promise.all(
      agents.map(async (client) => {
        while (performance.now() < deadline) {
          await call(client, tool, code);
          runs += 1;
        }
      }),
    );
    const perSecond = runs / ((performance.now() - begun) / 1000);
    report[`${tool}PerSecond`] = round(perSecond, 2);
    say(`${tool}: ${round(perSecond, 2)} runs/s with 4 concurrent agents on ${cpus().length} cores`);
  }

  await Promise.all(agents.map((client) => client.close()));
  await proxy.close();
  await runner.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(report)}\n`);
