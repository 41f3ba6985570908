// Reading a request body under a byte limit. A declared Content-Length over the limit is refused unread; a
// declared body within it is read at once (HTTP framing bounds it to that length, and runtimes such as
// @hono/node-server then read it without building web streams); a body of unknown length (chunked) is
// counted while it streams, so it cannot get past the limit either. Web APIs only.
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
