// Server-sent events for the live pages: each message is `{op, id?, html}`, an escaped HTML fragment rendered by the
// same template as the page, which console.js puts in place. A comment every 15 s keeps proxies from closing the
// stream; the source's cleanup runs when the browser goes away or the proxy closes.
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';

export interface LiveMessage {
  op: 'replace' | 'prepend' | 'append';
  id?: string;
  html: string;
}

/** `start` begins sending and returns its cleanup. */
export function liveStream(
  c: Context,
  start: (send: (message: LiveMessage) => void) => () => void,
): Response {
  return streamSSE(c, async (stream) => {
    let queue = Promise.resolve();
    const send = (message: LiveMessage): void => {
      queue = queue.then(() => stream.writeSSE({ data: JSON.stringify(message) })).catch(() => undefined);
    };
    const stop = start(send);
    const beat = setInterval(() => {
      queue = queue
        .then(() => stream.write(': keep-alive\n\n'))
        .then(
          () => undefined,
          () => undefined,
        );
    }, 15_000);
    await new Promise<void>((resolve) => stream.onAbort(resolve));
    clearInterval(beat);
    stop();
  });
}
