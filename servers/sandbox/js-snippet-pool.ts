// Worker threads that run the code runner's JavaScript programs (js-snippet-worker.ts), warm from the start, with a
// hard wall-clock kill (worker-pool.ts does the threads, queueing and the kill): a program still running at its
// timeout plus a grace period (stuck in a builtin QuickJS's interrupt handler never reaches, such as a huge sort)
// loses its worker, which is replaced at once. Output is collected here as it arrives, so a killed program still
// reports what it wrote. It owns what a run's job, answer and failure are; the sandbox rules live in js-snippet.ts.
import {
  createOutputCollector,
  type CodeRunOutcome,
  type ExitReason,
  type OutputListener,
  type OutputCollector,
} from './code-run-types.ts';
import type { JsSnippetRequest } from './js-snippet.ts';
import type { JsWorkerReply } from './js-snippet-worker.ts';
import { createWorkerPool, type WorkerLoss, type WorkerPoolStatus } from './worker-pool.ts';

export interface JsSnippetPoolOptions {
  /** Worker threads (programs that may run at once). Default 1. */
  size?: number;
  /** Added to a program's timeout before its worker is killed. Default 1000 ms. */
  graceMs?: number;
  /** Programs that may wait for a worker; more are refused with ERR_RUNNER_BUSY. Default 64. */
  maxQueue?: number;
}

export type JsSnippetPoolStatus = WorkerPoolStatus;

export interface JsSnippetPool {
  run(request: JsSnippetRequest, onOutput?: OutputListener): Promise<CodeRunOutcome>;
  status(): JsSnippetPoolStatus;
  close(): Promise<void>;
}

interface Run {
  request: JsSnippetRequest;
  output: OutputCollector;
  /** When it was asked for (performance.now()): its duration counts the wait for a worker. */
  started: number;
}

type JsRunReply = Exclude<JsWorkerReply, { ready: true }>;

const workerUrl = new URL('./js-snippet-worker.ts', import.meta.url);

function ended(run: Run, body: Partial<CodeRunOutcome> & { exit_reason: ExitReason }): CodeRunOutcome {
  return {
    result: null,
    ...body,
    stdout: run.output.stdout,
    stderr: run.output.stderr,
    duration_ms: Math.round(performance.now() - run.started),
  };
}

function lost(run: Run, loss: WorkerLoss): CodeRunOutcome {
  const fault = (message: string): CodeRunOutcome =>
    ended(run, { exit_reason: 'memory', error: { type: 'EngineFault', message, traceback: '' } });
  switch (loss.kind) {
    case 'timeout':
      return ended(run, { exit_reason: 'timeout' });
    case 'boot':
      return fault('the JavaScript worker did not start');
    case 'crash':
      return fault(`the JavaScript worker stopped (${loss.why})`);
  }
}

export function createJsSnippetPool(options: JsSnippetPoolOptions = {}): JsSnippetPool {
  const pool = createWorkerPool<Run, CodeRunOutcome, JsRunReply>({
    workerUrl,
    size: options.size ?? 1,
    graceMs: options.graceMs ?? 1000,
    warm: 'always',
    queueLimit: {
      jobs: options.maxQueue ?? 64,
      message: 'too many JavaScript runs are waiting; try again',
    },
    closedCode: 'ERR_RUNNER_UNAVAILABLE',
    name: 'the JavaScript pool',
    message: (id, run) => ({ id, request: run.request }),
    timeoutMs: (run) => run.request.timeoutMs,
    answer(run, reply) {
      if ('out' in reply) {
        run.output.add(reply.out.stream, reply.out.text);
        return undefined;
      }
      // the output came message by message; the outcome's own copy is empty
      const { stdout: _stdout, stderr: _stderr, duration_ms: _duration, ...rest } = reply.outcome;
      return { value: ended(run, rest) };
    },
    lost,
    unsendableMessage: 'a JavaScript run request is not cloneable',
  });

  return {
    run: (request, onOutput) =>
      pool.run({
        request,
        output: createOutputCollector(request.outputMaxBytes, onOutput),
        started: performance.now(),
      }),
    status: () => pool.status(),
    close: () => pool.close(),
  };
}
