import { describe, expect, it } from 'vitest';
import { readBodyLimited } from '../../../proxy/edge/body.ts';

const post = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  new Request('http://127.0.0.1/mcp', { method: 'POST', body, headers, duplex: 'half' });

function chunked(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

describe('readBodyLimited', () => {
  it('reads a declared body within the limit', async () => {
    expect(await readBodyLimited(post('{"a":1}', { 'content-length': '7' }), 100)).toEqual({
      tooLarge: false,
      text: '{"a":1}',
    });
  });

  it('refuses a declared length over the limit without reading', async () => {
    expect(await readBodyLimited(post('x', { 'content-length': '101' }), 100)).toEqual({ tooLarge: true });
  });

  it('refuses a body longer than its (lying) declared length', async () => {
    expect(await readBodyLimited(post('x'.repeat(500), { 'content-length': '10' }), 100)).toEqual({
      tooLarge: true,
    });
  });

  it('counts multi-byte characters as bytes', async () => {
    expect(await readBodyLimited(post('é'.repeat(60), { 'content-length': '10' }), 100)).toEqual({
      tooLarge: true,
    });
    expect(await readBodyLimited(post('é'.repeat(40), { 'content-length': '80' }), 100)).toMatchObject({
      tooLarge: false,
    });
  });

  it('counts a body of unknown length while it streams', async () => {
    expect(await readBodyLimited(post(chunked(['x'.repeat(60), 'x'.repeat(60)])), 100)).toEqual({
      tooLarge: true,
    });
    expect(await readBodyLimited(post(chunked(['{"a":', '1}'])), 100)).toEqual({
      tooLarge: false,
      text: '{"a":1}',
    });
  });
});
