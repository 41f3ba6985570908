// One command in a running session container (docker exec): demuxed and capped output, stdin, the runner's own
// deadline, and the exit code read with exec.inspect(), never guessed from the stream. Docker cannot kill a single
// exec, so a process that overruns its deadline (or keeps writing past the output cap) is ended by stopping the
// session's container: the caller's `overrun` does that, and the result says so. It must not own sessions.
import type { Duplex } from 'node:stream';
import type { Container, ExecCreateOptions, ExecInspectInfo } from 'dockerode';
import { McpcpError } from '../../lib/errors.ts';
import { engineError, statusOf, type Engine } from './engine.ts';
import { createOutputCollector, type OutputCollector } from './output.ts';
import { exitReason, drained, type ProcessLimits, type RunResult, type StopCause } from './run-result.ts';

/** How often a running exec is checked when its stream stays open (a background child may hold stdout). */
const pollMs = 500;
/** After the output cap closes the stream, the process gets this long to exit before the session is stopped. */
const capGraceMs = 1_000;

export interface ExecOutcome extends RunResult {
  /** True when the runner had to stop the session's container to end this process. */
  readonly session_stopped: boolean;
}

export interface ExecRun {
  readonly result: ExecOutcome;
  /** The raw bytes kept (read_file returns binary content from them). */
  readonly raw: ReturnType<OutputCollector['raw']>;
}

export async function execInContainer(
  engine: Engine,
  container: Container,
  options: ExecCreateOptions,
  limits: ProcessLimits,
  overrun: () => Promise<void>,
): Promise<ExecRun> {
  let stoppedBy: StopCause | undefined;
  let wake = (): void => undefined;
  const stop = (cause: StopCause) => {
    stoppedBy ??= cause;
    wake();
  };
  const output = createOutputCollector({
    maxBytes: limits.maxOutputBytes,
    onLimit: () => stop('output_limit'),
    ...(limits.onChunk ? { onChunk: limits.onChunk } : {}),
  });
  let stream: Duplex;
  let exec: Awaited<ReturnType<Container['exec']>>;
  try {
    exec = await container.exec(options);
    stream = await exec.start({ hijack: true, stdin: limits.stdin !== undefined });
  } catch (error) {
    if (statusOf(error) === 404 || statusOf(error) === 409)
      throw new McpcpError('ERR_SESSION_NOT_FOUND', 'the session has ended (its container is not running)', {
        cause: error,
      });
    throw engineError(error, engine.socket, 'exec');
  }
  const started = performance.now();
  engine.docker.modem.demuxStream(stream, output.stdout, output.stderr);
  let streamOpen = true;
  const onEnd = () => {
    streamOpen = false;
    wake();
  };
  stream.once('end', onEnd);
  stream.once('close', onEnd);
  stream.once('error', onEnd);
  if (limits.stdin !== undefined) {
    stream.write(limits.stdin);
    stream.end();
  }
  const deadline = setTimeout(() => stop('timeout'), limits.timeoutMs);
  const onAbort = () => stop('killed');
  limits.signal?.addEventListener('abort', onAbort, { once: true });
  if (limits.signal?.aborted === true) onAbort();

  let info: ExecInspectInfo | undefined;
  let sessionStopped = false;
  try {
    for (;;) {
      if (stoppedBy === 'output_limit') {
        // Closing our end gives the writer EPIPE/SIGPIPE; it usually exits at once.
        stream.destroy();
        info = await waitForExit(exec, capGraceMs);
        if (info?.Running !== false) {
          sessionStopped = true;
          await overrun();
        }
        break;
      }
      if (stoppedBy !== undefined) {
        stream.destroy();
        sessionStopped = true;
        await overrun();
        break;
      }
      // Sleep until the stream ends, a stop is asked, or the poll interval passes; then ask the engine.
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (!streamOpen) setImmediate(resolve);
        else setTimeout(resolve, pollMs).unref();
      });
      wake = () => undefined;
      if (stoppedBy !== undefined) continue;
      info = await exec.inspect().catch((error: unknown) => {
        throw engineError(error, engine.socket, 'exec inspect');
      });
      if (!info.Running) break;
    }
    const duration = Math.round(performance.now() - started);
    // The process has ended; what it wrote may still be on its way (the stream may also be held by a child).
    if (stoppedBy === undefined) await drained(stream);
    stream.destroy();
    const code = info?.Running === false ? info.ExitCode : null;
    const oom = stoppedBy === undefined && code === 137 && (await sawOom(engine, container.id, started));
    const { stdout, stderr, truncated } = output.result();
    return {
      result: {
        exit_code: code,
        stdout,
        stderr,
        truncated,
        duration_ms: duration,
        exit_reason: exitReason(stoppedBy, oom),
        session_stopped: sessionStopped,
      },
      raw: output.raw(),
    };
  } finally {
    clearTimeout(deadline);
    limits.signal?.removeEventListener('abort', onAbort);
  }
}

async function waitForExit(
  exec: Awaited<ReturnType<Container['exec']>>,
  ms: number,
): Promise<ExecInspectInfo | undefined> {
  const until = performance.now() + ms;
  for (;;) {
    const info = await exec.inspect().catch(() => undefined);
    if (info === undefined || !info.Running || performance.now() > until) return info;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Whether the kernel's OOM killer acted in this container since `sinceMs` (performance time). An exec has no OOM
 * flag of its own; the engine's event log has the container's `oom` events.
 */
async function sawOom(engine: Engine, containerId: string, sinceMs: number): Promise<boolean> {
  const startedAt = Date.now() - (performance.now() - sinceMs);
  try {
    // `until` now: the engine answers with what it has logged and ends the stream, instead of following it.
    const events = await engine.docker.getEvents({
      since: dockerTime(startedAt - 1_000),
      until: dockerTime(Date.now()),
      filters: { container: [containerId], event: ['oom'] },
    } as unknown as Parameters<Engine['docker']['getEvents']>[0]);
    let text = '';
    for await (const chunk of events) text += String(chunk);
    return text.includes('"oom"');
  } catch {
    return false;
  }
}

/** The engine's "seconds.nanoseconds" timestamp for epoch milliseconds. */
function dockerTime(ms: number): string {
  const whole = Math.floor(ms);
  return `${Math.floor(whole / 1000)}.${String(whole % 1000).padStart(3, '0')}000000`;
}
