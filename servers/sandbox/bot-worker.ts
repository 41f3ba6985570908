// Worker-thread entry for bot hooks: runs each hook it is sent with runBotHookInProcess and posts the output back.
// One hook at a time (the pool never sends a second before the first answered). It holds no state between hooks
// beyond the warm, prepared QuickJS module (restored to its snapshot after every hook).
import { parentPort } from 'node:worker_threads';
import { isMcpcpError } from '../../lib/errors.ts';
import { runBotHookInProcess, warmBotSandbox } from './bot-hook-inprocess.ts';
import type { BotHookInput } from './bot-hook-types.ts';

export interface BotWorkerRequest {
  id: number;
  input: BotHookInput;
}

if (parentPort === null) throw new Error('bot-worker.ts must run in a worker thread');
const port = parentPort;

// Compile, instantiate and prepare QuickJS before the first hook; the pool starts a hook's kill timer once this is done.
const warmed = warmBotSandbox().then(
  () => port.postMessage({ ready: true }),
  (error: unknown) => {
    throw error;
  },
);

port.on('message', (request: BotWorkerRequest) => {
  // A hook sent while warming up waits for "ready" to be posted first: a hook that starts before it would run with
  // no kill timer (the pool starts it on "ready"), and one that never returns would hold the worker for good.
  void warmed.then(() => runHook(request));
});

function runHook(request: BotWorkerRequest): void {
  runBotHookInProcess(request.input).then(
    (output) => port.postMessage({ id: request.id, output }),
    (error: unknown) =>
      port.postMessage({
        id: request.id,
        error: {
          code: isMcpcpError(error) ? error.code : 'ERR_INTERNAL',
          message: error instanceof Error ? error.message : String(error),
        },
      }),
  );
}
