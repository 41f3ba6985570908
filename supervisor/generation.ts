// One generation of a supervised child: the spawned process (guarded, own process group), its exit as a promise,
// its stderr into the child log, and the MCP transport to it — its stdio pipes, or HTTP at the URL it listens on.
// It must not decide about restarts or states; supervisor.ts does.
import { StreamableHTTPClientTransport, type Client, type Transport } from '@modelcontextprotocol/client';
import type { ChildLog } from './child-log.ts';
import { readLines } from './lines.ts';
import { beforeDeadline, needsListeningLine, parseListeningLine, waitForPort } from './readiness.ts';
import type { ShutdownLadder } from './shutdown.ts';
import { isRunning, spawnGuarded, type GuardedChild } from './spawn-guarded.ts';
import { ChildStdioTransport } from './stdio-transport.ts';
import type { ChildSpec } from './types.ts';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
  readonly error?: Error;
}

export interface Generation {
  readonly number: number;
  readonly child: GuardedChild;
  readonly exited: Promise<ExitInfo>;
  client?: Client;
  /** Why the supervisor is ending this generation (readiness or liveness failure), if it is. */
  failure?: string;
  garbageLines: number;
}

/** A child that failed readiness is not asked politely for long. */
export const quickLadder: ShutdownLadder = { stdinGraceMs: 100, termGraceMs: 1_000 };

export function spawnGeneration(
  spec: ChildSpec,
  args: readonly string[],
  number: number,
  log: ChildLog,
): Generation {
  const child = spawnGuarded({
    command: spec.command,
    args,
    ...(spec.env ? { env: spec.env } : {}),
    ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    child.process.once('exit', (code, signal) => resolve({ code, signal }));
    child.process.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  child.stdin.on('error', () => undefined);
  readLines(child.stderr, { line: (line) => log.write('stderr', line) }, 64 * 1024);
  return { number, child, exited, garbageLines: 0 };
}

/**
 * The MCP transport to this generation, and its address ('stdio' or the URL). An HTTP child is connected to only
 * once it listens: at the URL of its `{"event":"listening"}` line, or — with a fixed URL — once that line comes or
 * the port accepts connections, whichever is first (connecting at once would fail and get the child restarted).
 */
export async function openTransport(
  spec: ChildSpec,
  generation: Generation,
  log: ChildLog,
  deadline: number,
  now: () => number,
): Promise<{ transport: Transport; address: string }> {
  const { child } = generation;
  if (spec.transport === 'stdio') {
    const transport = new ChildStdioTransport({
      stdin: child.stdin,
      stdout: child.stdout,
      onGarbage: (line) => noteGarbage(generation, log, line),
    });
    return { transport, address: 'stdio' };
  }
  const gaveUp = () => !isRunning(child) || now() > deadline;
  // A child that exits before it listens settles this at once: no deadline timer outlives it.
  const exited = generation.exited.then((): never => {
    throw new Error('exited before it listened');
  });
  const url = await beforeDeadline(
    Promise.race([resolveUrl(spec.url, child, log, gaveUp), exited]),
    deadline,
    needsListeningLine(spec.url)
      ? 'the {"event":"listening"} line on stdout'
      : `listening on ${spec.url ?? ''} (or the {"event":"listening"} line)`,
    now,
  );
  // The SDK asks an auth provider for the token before every request, so each ping carries a fresh one.
  const token = spec.bearerToken;
  return {
    transport: new StreamableHTTPClientTransport(
      new URL(url),
      token === undefined ? {} : { authProvider: { token } },
    ),
    address: url,
  };
}

function resolveUrl(
  configured: string | undefined,
  child: GuardedChild,
  log: ChildLog,
  gaveUp: () => boolean,
): Promise<string> {
  const wanted = needsListeningLine(configured);
  return new Promise((resolve) => {
    let found = false;
    readLines(
      child.stdout,
      {
        line: (line) => {
          const url = found ? undefined : parseListeningLine(line);
          if (url === undefined) return log.write('stdout', line);
          found = true;
          resolve(wanted || configured === undefined ? url : configured);
        },
      },
      64 * 1024,
    );
    if (!wanted && configured !== undefined) {
      void waitForPort(configured, () => found || gaveUp()).then((open) => open && resolve(configured));
    }
  });
}

function noteGarbage(generation: Generation, log: ChildLog, line: string): void {
  generation.garbageLines += 1;
  const n = generation.garbageLines;
  if (n <= 3) log.write('supervisor', `ignored a stdout line that is not JSON-RPC: ${line}`);
  else if (n === 4 || n % 10_000 === 0) {
    log.write(
      'supervisor',
      `${n} stdout lines that are not JSON-RPC ignored so far (stdout must carry only MCP)`,
    );
  }
}

/** How a generation ended, in words for lastError and the log. */
export function describeExit(info: ExitInfo, failure: string | undefined, wasReady: boolean): string {
  const how = info.error
    ? `could not be spawned: ${info.error.message}`
    : info.signal
      ? `was killed by ${info.signal}`
      : `exited with code ${String(info.code)}`;
  return failure ?? `${how}${wasReady ? '' : ' before it was ready'}`;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
