// Runs the official MCP conformance suite (@modelcontextprotocol/conformance, its CLI) against a
// server URL and returns one result per server scenario. One CLI invocation runs every scenario
// (they take ~2 s in total); results are read from the per-scenario checks.json files the CLI
// writes with `-o`, never from its human output. Extra headers (the proxy's Bearer token) and
// protocol-era pinning go through the test-only auth-header forwarder, because the CLI cannot send
// headers or choose the version its client offers.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAuthHeaderForwarder } from './auth-header-forwarder.ts';
import type { AuthHeaderForwarder } from './auth-header-forwarder.ts';
import { runModernScenarios } from './modern-runner.ts';
import { MODERN_ERA, MODERN_SCENARIOS } from './modern-scenarios.ts';

/**
 * Protocol eras. The official suite's client (SDK v1) offers 2025-11-25; '2025-06-18' pins the
 * `initialize` offer to that version and keeps only the scenarios the suite tags with it.
 * '2026-07-28' is not in the suite: it runs the SDK v2 mirror in modern-scenarios.ts.
 */
export type ConformanceEra = '2025-06-18' | '2025-11-25' | typeof MODERN_ERA;

export interface ConformanceCheck {
  id: string;
  name: string;
  description: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
  details?: unknown;
}

export interface ScenarioDetails {
  /** Ids of the checks that succeeded. */
  succeeded: string[];
  failures: Array<{ id: string; message: string }>;
  warnings: Array<{ id: string; message: string }>;
  checks: ConformanceCheck[];
}

export interface ScenarioResult {
  scenario: string;
  /** No failed check (warnings allowed, as the CLI itself counts it). */
  passed: boolean;
  details: ScenarioDetails;
}

export interface RunConformanceOptions {
  url: string;
  /** Sent with every request (through the auth-header forwarder). */
  headers?: Record<string, string>;
  /** Default: every server scenario of the era (pending ones included). */
  scenarios?: readonly string[];
  /** Default: the suite's native era (2025-11-25, all scenarios). */
  era?: ConformanceEra;
  /** Kills the CLI after this long; unfinished scenarios count as failed. Default 120 000. */
  timeoutMs?: number;
}

const require = createRequire(import.meta.url);
export const CONFORMANCE_CLI = path.join(
  path.dirname(require.resolve('@modelcontextprotocol/conformance/package.json')),
  'dist/index.js',
);
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

interface CliRun {
  code: number | null;
  output: string;
  timedOut: boolean;
}

function runCli(args: readonly string[], timeoutMs: number): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CONFORMANCE_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-200_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

/** Server scenario names the installed suite knows, optionally only those tagged with `era`. */
export async function listServerScenarios(era?: ConformanceEra): Promise<string[]> {
  if (era === MODERN_ERA) return [...MODERN_SCENARIOS];
  const args = ['list', '--server', ...(era ? ['--spec-version', era] : [])];
  const { code, output } = await runCli(args, 30_000);
  if (code !== 0) throw new Error(`conformance list failed (${code}): ${output}`);
  return [...output.matchAll(/^\s+- (\S+)/gm)].map((match) => match[1]!);
}

function summarise(scenario: string, checks: ConformanceCheck[]): ScenarioResult {
  const message = (check: ConformanceCheck): string => check.errorMessage ?? check.description;
  const failures = checks
    .filter((c) => c.status === 'FAILURE')
    .map((c) => ({ id: c.id, message: message(c) }));
  const warnings = checks
    .filter((c) => c.status === 'WARNING')
    .map((c) => ({ id: c.id, message: message(c) }));
  const succeeded = checks.filter((c) => c.status === 'SUCCESS').map((c) => c.id);
  return {
    scenario,
    passed: failures.length === 0 && checks.length > 0,
    details: { succeeded, failures, warnings, checks },
  };
}

async function readResults(dir: string): Promise<Map<string, ConformanceCheck[]>> {
  const results = new Map<string, ConformanceCheck[]>();
  for (const entry of await readdir(dir)) {
    const scenario = RESULT_DIR.exec(entry)?.[1];
    if (!scenario) continue;
    try {
      const checks = JSON.parse(
        await readFile(path.join(dir, entry, 'checks.json'), 'utf8'),
      ) as ConformanceCheck[];
      results.set(scenario, checks);
    } catch {
      // A scenario killed mid-write has no readable result: it counts as not run.
    }
  }
  return results;
}

export interface RunSuiteOptions {
  url: string;
  /** Sent with every request (through the auth-header forwarder). */
  headers?: Record<string, string>;
  /** `--requirements <revision>`: exactly what that revision requires; default the active suite. */
  requirements?: '2026-07-28';
  /** Kills the CLI after this long. Default 180 000. */
  timeoutMs?: number;
}

export interface SuiteRun {
  /** scenario → its checks, as the CLI wrote them. */
  scenarios: Map<string, ConformanceCheck[]>;
  /** The CLI's human output (its tail), for failure messages. */
  output: string;
}

/**
 * One CLI run of a whole suite as a user would type it (`conformance server --url …` or with
 * `--requirements`), every check of every scenario it ran.
 */
export async function runSuite(options: RunSuiteOptions): Promise<SuiteRun> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const outDir = await mkdtemp(path.join(tmpdir(), 'mcpcp-conformance-'));
  const forwarder =
    options.headers === undefined
      ? undefined
      : await startAuthHeaderForwarder({ target: options.url, headers: options.headers });
  try {
    const url = forwarder?.url ?? options.url;
    const selection = options.requirements === undefined ? [] : ['--requirements', options.requirements];
    const run = await runCli(['server', '--url', url, '-o', outDir, ...selection], timeoutMs);
    if (run.timedOut)
      throw new Error(`the conformance suite was killed after ${timeoutMs} ms: ${run.output}`);
    return { scenarios: await readResults(outDir), output: run.output.slice(-4_000) };
  } finally {
    await forwarder?.close();
    await rm(outDir, { recursive: true, force: true });
  }
}

export async function runConformance(options: RunConformanceOptions): Promise<ScenarioResult[]> {
  if (options.era === MODERN_ERA) return runModernScenarios(options);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const wanted = options.scenarios ?? (await listServerScenarios(options.era));
  const needsForwarder = options.headers !== undefined || options.era === '2025-06-18';
  let forwarder: AuthHeaderForwarder | undefined;
  const outDir = await mkdtemp(path.join(tmpdir(), 'mcpcp-conformance-'));
  try {
    if (needsForwarder) {
      forwarder = await startAuthHeaderForwarder({
        target: options.url,
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.era === '2025-06-18' ? { pinProtocolVersion: '2025-06-18' } : {}),
      });
    }
    const url = forwarder?.url ?? options.url;
    const selection =
      wanted.length === 1
        ? ['--scenario', wanted[0]!]
        : ['--suite', 'all', ...(options.era ? ['--spec-version', options.era] : [])];
    const run = await runCli(['server', '--url', url, '-o', outDir, ...selection], timeoutMs);
    const results = await readResults(outDir);
    return wanted.map((scenario) => {
      const checks = results.get(scenario);
      if (checks) return summarise(scenario, checks);
      const why = run.timedOut ? `the suite was killed after ${timeoutMs} ms` : `CLI exited ${run.code}`;
      return summarise(scenario, [
        {
          id: 'no-result',
          name: 'NoResult',
          description: `scenario produced no result (${why}); CLI output tail: ${run.output.slice(-2_000)}`,
          status: 'FAILURE',
        },
      ]);
    });
  } finally {
    await forwarder?.close();
    await rm(outDir, { recursive: true, force: true });
  }
}
