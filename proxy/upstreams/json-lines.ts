// Reading a child's `application/json` answer the way the official conformance client reads it: one JSON
// document, or several newline-delimited ones (NDJSON: some servers stream a call's notifications before
// its result, or hold a subscriptions/listen stream open, under `application/json`). Each complete
// message is handed on as soon as its line ends, so a stream that never ends still delivers. A document
// spread over several lines (pretty-printed) is still one document. Bounded like the SSE reader.
// It must not decide anything about the messages; it only splits them.

/** Bounds an unterminated document (the SSE reader's bound). */
export const maxJsonLinesBuffer = 32 * 2 ** 20;

export interface JsonLinesParser {
  /** Feeds decoded text; complete messages are handed to `onMessage` at once. */
  feed(text: string): void;
  /** The body ended: parses what is left; throws a SyntaxError when it is not JSON. */
  end(): void;
  /** How many messages were handed on so far. */
  readonly count: number;
}

/** A parser handing every JSON value it reads (a batch array's members one by one) to `onMessage`. */
export function createJsonLinesParser(onMessage: (value: unknown) => void): JsonLinesParser {
  let buffer = '';
  /** Where to look for the next line end (the text before it did not parse yet). */
  let scanFrom = 0;
  let count = 0;
  const hand = (value: unknown): void => {
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
      count += 1;
      onMessage(item);
    }
  };
  const drain = (): void => {
    for (;;) {
      const newline = buffer.indexOf('\n', scanFrom);
      if (newline < 0) break;
      const candidate = buffer.slice(0, newline).trim();
      if (candidate === '') {
        buffer = buffer.slice(newline + 1);
        scanFrom = 0;
        continue;
      }
      // Only a line that closes a value can end a document; anything else is the middle of one.
      const last = candidate[candidate.length - 1];
      if (last === '}' || last === ']') {
        let value: unknown;
        let parsed = true;
        try {
          value = JSON.parse(candidate);
        } catch {
          parsed = false;
        }
        if (parsed) {
          buffer = buffer.slice(newline + 1);
          scanFrom = 0;
          hand(value);
          continue;
        }
      }
      scanFrom = newline + 1;
    }
    if (buffer.length > maxJsonLinesBuffer)
      throw new SyntaxError(`a JSON answer document is larger than ${maxJsonLinesBuffer} bytes`);
  };
  return {
    feed(text) {
      buffer += text;
      if (text.includes('\n')) drain();
      else if (buffer.length > maxJsonLinesBuffer)
        throw new SyntaxError(`a JSON answer document is larger than ${maxJsonLinesBuffer} bytes`);
    },
    end() {
      const rest = buffer.trim();
      buffer = '';
      scanFrom = 0;
      if (rest !== '') hand(JSON.parse(rest));
    },
    get count() {
      return count;
    },
  };
}

const encoder = new TextEncoder();

/**
 * For the SDK's own send logic, which reads an `application/json` answer whole: the same answer, or, once
 * it turns out to hold newline-delimited messages, an SSE stream of them (which the SDK reads message by
 * message), so a stream that never ends still delivers. A single document stays the JSON answer it was.
 */
export async function tolerateJsonLines(response: Response): Promise<Response> {
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200 || response.body === null || !type.startsWith('application/json'))
    return response;
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const decoder = new TextDecoder();
  const queue: unknown[] = [];
  const parser = createJsonLinesParser((value) => queue.push(value));
  const raw: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      // One document (or nothing complete before the end): the answer exactly as it came.
      return new Response(Buffer.concat(raw), {
        status: 200,
        statusText: response.statusText,
        headers: new Headers(response.headers),
      });
    }
    raw.push(value);
    parser.feed(decoder.decode(value, { stream: true }));
    if (queue.length > 0) break;
  }
  // Newline-delimited: what arrived so far, then the rest as it comes, as SSE events.
  const headers = new Headers(response.headers);
  headers.set('content-type', 'text/event-stream');
  headers.delete('content-length');
  const flush = (controller: ReadableStreamDefaultController<Uint8Array>): void => {
    for (const value of queue.splice(0))
      controller.enqueue(encoder.encode(`event: message\ndata: ${JSON.stringify(value)}\n\n`));
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (queue.length === 0) {
        const { done, value } = await reader.read();
        if (done) {
          try {
            parser.end();
          } catch (error) {
            controller.error(error);
            return;
          }
          flush(controller);
          controller.close();
          return;
        }
        parser.feed(decoder.decode(value, { stream: true }));
      }
      flush(controller);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: 200, statusText: response.statusText, headers });
}
