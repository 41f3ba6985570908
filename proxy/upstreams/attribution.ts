// Which caller a child's message belongs to, for Streamable HTTP children: a child's request or log
// line sent while answering a call travels on that call's own response stream. The caller is carried
// to the fetch of that call through AsyncLocalStorage, and the response stream is tapped (never
// altered) to note which caller each child message arrived for, before the SDK parses it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createParser } from 'eventsource-parser';

const callers = new AsyncLocalStorage<unknown>();

/** Runs an upstream request so that messages on its response stream are attributed to `caller`. */
export function withCaller<T>(caller: unknown, run: () => Promise<T>): Promise<T> {
  return callers.run(caller, run);
}

export function currentCaller(): unknown {
  return callers.getStore();
}

/** Per-connection memory of where child messages came from. */
export function createAttribution() {
  const byRequestId = new Map<string, unknown>();
  const logs: Array<{ key: string; caller: unknown }> = [];
  return {
    note(message: unknown, caller: unknown): void {
      if (typeof message !== 'object' || message === null) return;
      const m = message as { id?: unknown; method?: unknown; params?: unknown };
      if (typeof m.method !== 'string') return;
      if (typeof m.id === 'string' || typeof m.id === 'number') {
        byRequestId.set(String(m.id), caller);
        if (byRequestId.size > 1000) byRequestId.delete(byRequestId.keys().next().value!);
      } else if (m.method === 'notifications/message') {
        logs.push({ key: JSON.stringify(m.params ?? null), caller });
        if (logs.length > 1000) logs.shift();
      }
    },
    /** The caller a child request (by its JSON-RPC id) arrived for; forgets it. */
    request(id: string | number): unknown {
      const key = String(id);
      const caller = byRequestId.get(key);
      byRequestId.delete(key);
      return caller;
    },
    /** The caller a log notification arrived for; forgets it. */
    log(params: unknown): unknown {
      const key = JSON.stringify(params ?? null);
      const at = logs.findIndex((l) => l.key === key);
      if (at < 0) return undefined;
      return logs.splice(at, 1)[0]!.caller;
    },
  };
}

export type Attribution = ReturnType<typeof createAttribution>;

/** Bounds an SSE answer's unterminated line or event, as answer-stream.ts bounds it. */
const maxTapBuffer = 32 * 2 ** 20;

/**
 * Passes an SSE body through unchanged while handing every JSON message in it to `onMessage`. Parsed with
 * eventsource-parser (the parser the SDK's own transport uses): only `message` events count, as the SDK
 * reads them, and a line that never ends is bounded.
 */
export function tapSse(
  body: ReadableStream<Uint8Array>,
  onMessage: (message: unknown) => void,
): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const parser = createParser({
    maxBufferSize: maxTapBuffer,
    onEvent: (event) => {
      if (!event.data || (event.event !== undefined && event.event !== 'message')) return;
      try {
        onMessage(JSON.parse(event.data));
      } catch {
        // not JSON: the SDK will report it
      }
    },
    // An oversized event is the SDK's to refuse; the tap just stops noting it.
    onError: () => undefined,
  });
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        controller.enqueue(chunk);
      },
    }),
  );
}
