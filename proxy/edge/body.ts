// Reading a request body under a byte limit. A declared Content-Length over the limit is refused unread; a
// declared body within it is read at once (HTTP framing bounds it to that length, and runtimes such as
// @hono/node-server then read it without building web streams); a body of unknown length (chunked) is
// counted while it streams, so it cannot get past the limit either. A refused body's rest is discarded (bounded)
// before the connection closes. Web APIs only.
import { readRequestBody } from '@modelcontextprotocol/server';

export type LimitedBody = { tooLarge: true } | { tooLarge: false; text: string };

const encoder = new TextEncoder();

export async function readBodyLimited(request: Request, maxBytes: number): Promise<LimitedBody> {
  const declared = request.headers.get('content-length');
  if (declared === null || !/^\d+$/.test(declared)) return readRequestBody(request, maxBytes);
  if (Number(declared) > maxBytes) return { tooLarge: true };
  const text = await request.text();
  // Belt and braces for in-process callers whose body may not match its header: a UTF-8 body has at
  // least text.length bytes and at most 3 per UTF-16 unit, so only long texts need an exact count.
  if (text.length > maxBytes) return { tooLarge: true };
  if (text.length * 3 > maxBytes && encoder.encode(text).byteLength > maxBytes) return { tooLarge: true };
  return { tooLarge: false, text };
}

/**
 * Reads and throws away what is left of a refused body: at most `limitBytes` more, for at most `timeoutMs`, so a
 * client that sent it whole can read the answer and the connection closes cleanly (closing a socket with unread
 * data resets it, and the client may lose the answer). Past either bound it gives up and cancels the body.
 */
export async function discardBody(request: Request, limitBytes: number, timeoutMs: number): Promise<void> {
  if (request.body === null || request.bodyUsed || request.body.locked) return;
  const reader: ReadableStreamDefaultReader<Uint8Array> = request.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), timeoutMs);
  });
  let discarded = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === 'expired' || next.done) {
        if (next === 'expired') await reader.cancel().catch(() => undefined);
        return;
      }
      discarded += next.value.byteLength;
      if (discarded > limitBytes) {
        await reader.cancel().catch(() => undefined);
        return;
      }
    }
  } catch {
    // The client went away: nothing left to discard.
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}
