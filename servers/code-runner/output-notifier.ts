// Streams a running program's output to the MCP caller: stdout/stderr chunks become `notifications/message` log
// entries ({stream, text}), and, when the call carried a progress token, `notifications/progress` with the bytes
// written so far. Chunks are batched (at most one notification per stream every `intervalMs`, or per `maxChunk`
// bytes) so a chatty program cannot flood the caller. It must not alter the output the result carries.
import type { OutputListener } from '../sandbox/code-run-types.ts';

export interface OutputNotifierOptions {
  log(stream: 'stdout' | 'stderr', text: string): Promise<void>;
  /** Present when the caller asked for progress. */
  progress?: (bytes: number, message: string) => Promise<void>;
  intervalMs?: number;
  maxChunk?: number;
}

export interface OutputNotifier {
  readonly listener: OutputListener;
  /** Sends what is pending and waits until everything sent so far has gone out. */
  flush(): Promise<void>;
}

export function createOutputNotifier(options: OutputNotifierOptions): OutputNotifier {
  const intervalMs = options.intervalMs ?? 100;
  const maxChunk = options.maxChunk ?? 16_384;
  const pending: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  let order: ('stdout' | 'stderr')[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();

  const send = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const streams = order;
    order = [];
    for (const stream of streams) {
      const text = pending[stream];
      pending[stream] = '';
      if (!text) continue;
      sending = sending.then(async () => {
        await options.log(stream, text).catch(() => undefined);
        await options.progress?.(bytes, `${bytes} bytes of output`).catch(() => undefined);
      });
    }
  };

  return {
    listener(stream, text) {
      if (!order.includes(stream)) order.push(stream);
      pending[stream] += text;
      bytes += Buffer.byteLength(text);
      if (pending[stream].length >= maxChunk) send();
      else timer ??= setTimeout(send, intervalMs);
    },
    async flush() {
      send();
      await sending;
    },
  };
}
