// One one-shot container: create, attach (demuxed, capped), wait, start, then the runner's own deadline; at the
// end inspect (exit code, OOM) and remove, whatever happened. The end is the engine's wait answer, never the output
// stream ending (a process can keep it open or close it early). It must not choose the container's options.
import type { Duplex } from 'node:stream';
import type { Container, ContainerCreateOptions } from 'dockerode';
import { McpcpError } from '../../lib/errors.ts';
import { engineError, statusOf, type Engine } from './engine.ts';
import { createOutputCollector } from './output.ts';
import {
  drained,
  exitReason,
  settleWithin,
  type ProcessLimits,
  type RunResult,
  type StopCause,
} from './run-result.ts';

/** A kill the engine does not confirm within this long is followed by a forced removal. */
const killConfirmMs = 10_000;

export interface RunHooks {
  /** Called with the container ID as soon as it exists (so a shutdown can remove it). */
  onCreated?(id: string): void;
}

export async function runContainer(
  engine: Engine,
  options: ContainerCreateOptions,
  limits: ProcessLimits,
  hooks: RunHooks = {},
): Promise<RunResult> {
  let container: Container;
  try {
    container = await engine.docker.createContainer(options);
  } catch (error) {
    if (statusOf(error) === 404)
      throw new McpcpError('ERR_IMAGE_MISSING', 'the image is no longer on this Docker engine', {
        cause: error,
      });
    throw engineError(error, engine.socket, 'create container');
  }
  hooks.onCreated?.(container.id);
  try {
    return await attachAndRun(engine, container, limits);
  } finally {
    await engine.remove(container.id);
  }
}

async function attachAndRun(engine: Engine, container: Container, limits: ProcessLimits): Promise<RunResult> {
  let stoppedBy: StopCause | undefined;
  let kill = (cause: StopCause): void => {
    stoppedBy ??= cause;
  };
  const output = createOutputCollector({
    maxBytes: limits.maxOutputBytes,
    onLimit: () => kill('output_limit'),
    ...(limits.onChunk ? { onChunk: limits.onChunk } : {}),
  });
  const withStdin = limits.stdin !== undefined;
  let stream: Duplex;
  let waited: Promise<{ StatusCode?: number }>;
  try {
    stream = (await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
      stdin: withStdin,
      hijack: withStdin,
    })) as Duplex;
    engine.docker.modem.demuxStream(stream, output.stdout, output.stderr);
    // Registered before start, so an exit faster than this round trip is not missed.
    waited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode?: number }>;
    waited.catch(() => undefined);
    await container.start();
  } catch (error) {
    throw engineError(error, engine.socket, 'start container');
  }
  const started = performance.now();
  if (limits.stdin !== undefined) {
    stream.write(limits.stdin);
    stream.end();
  }

  const killed = new Promise<void>((resolve) => {
    kill = (cause) => {
      if (stoppedBy !== undefined) return;
      stoppedBy = cause;
      container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
      resolve();
    };
  });
  const deadline = setTimeout(() => kill('timeout'), limits.timeoutMs);
  const onAbort = () => kill('killed');
  limits.signal?.addEventListener('abort', onAbort, { once: true });
  if (limits.signal?.aborted === true) onAbort();
  try {
    // The wait answer is the end. After a kill it must come soon; if it does not, removal (finally) ends it.
    const status = await Promise.race([
      waited,
      killed.then(() => settleWithin(waited, killConfirmMs).then(() => ({ StatusCode: undefined }))),
    ]);
    const duration = Math.round(performance.now() - started);
    // What the process wrote before it ended is still on its way; after a kill, only a moment's worth matters.
    await (stoppedBy === undefined ? drained(stream) : drained(stream, 100, 1_000));
    stream.destroy();
    const state = await container.inspect().then(
      (info) => info.State,
      () => undefined,
    );
    const { stdout, stderr, truncated } = output.result();
    return {
      exit_code: state?.Running === false ? state.ExitCode : (status.StatusCode ?? null),
      stdout,
      stderr,
      truncated,
      duration_ms: duration,
      exit_reason: exitReason(stoppedBy, state?.OOMKilled === true),
    };
  } finally {
    clearTimeout(deadline);
    limits.signal?.removeEventListener('abort', onAbort);
  }
}
