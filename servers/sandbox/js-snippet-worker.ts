// Worker-thread entry for the code runner's JavaScript programs: warms QuickJS, then runs each request it is sent
// with runJsSnippetInProcess, posting output as it is written and the outcome at the end. One run at a time (the
// pool never sends a second before the first answered); between runs the prepared context is restored, so nothing
// of one program reaches the next.
import { parentPort } from 'node:worker_threads';
import { runJsSnippetInProcess, warmJsSnippets, type JsSnippetRequest } from './js-snippet.ts';

export type JsWorkerReply =
  | { ready: true }
  | { id: number; out: { stream: 'stdout' | 'stderr'; text: string } }
  | { id: number; outcome: Awaited<ReturnType<typeof runJsSnippetInProcess>> };

const port = parentPort;
if (port === null) throw new Error('js-snippet-worker.ts must run in a worker thread');

const warmed = warmJsSnippets();
warmed.then(
  () => port.postMessage({ ready: true } satisfies JsWorkerReply),
  (error: unknown) => {
    throw error;
  },
);

port.on('message', (message: { id: number; request: JsSnippetRequest }) => {
  const { id, request } = message;
  // Only after "ready" went out: the pool's kill timer for this run starts when it hears it.
  void warmed.then(() =>
    runJsSnippetInProcess(request, (stream, text) => {
      port.postMessage({ id, out: { stream, text } } satisfies JsWorkerReply);
    }).then((outcome) => {
      // output already went out message by message
      port.postMessage({ id, outcome: { ...outcome, stdout: '', stderr: '' } } satisfies JsWorkerReply);
    }),
  );
});
