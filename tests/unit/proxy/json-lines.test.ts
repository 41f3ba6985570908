// Reading a child's application/json answer as the official client does: one document, or NDJSON.
import { describe, expect, it } from 'vitest';
import {
  createJsonLinesParser,
  maxJsonLinesBuffer,
  tolerateJsonLines,
} from '../../../proxy/upstreams/json-lines.ts';

function parse(chunks: readonly string[]): unknown[] {
  const seen: unknown[] = [];
  const parser = createJsonLinesParser((value) => seen.push(value));
  for (const chunk of chunks) parser.feed(chunk);
  parser.end();
  return seen;
}

const a = { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } };
const b = { jsonrpc: '2.0', id: 1, result: { content: [] } };

describe('the JSON answer parser', () => {
  it('reads one document, with or without a final newline', () => {
    expect(parse([JSON.stringify(b)])).toEqual([b]);
    expect(parse([`${JSON.stringify(b)}\n`])).toEqual([b]);
  });

  it('reads newline-delimited messages, each as soon as its line ends', () => {
    const seen: unknown[] = [];
    const parser = createJsonLinesParser((value) => seen.push(value));
    parser.feed(`${JSON.stringify(a)}\n`);
    expect(seen).toEqual([a]);
    parser.feed(JSON.stringify(b).slice(0, 10));
    parser.feed(`${JSON.stringify(b).slice(10)}\r\n`);
    expect(seen).toEqual([a, b]);
    parser.end();
    expect(parser.count).toBe(2);
  });

  it('keeps a pretty-printed document whole', () => {
    expect(parse([JSON.stringify(b, null, 2)])).toEqual([b]);
    expect(parse([`${JSON.stringify(b, null, 2)}\n`, `${JSON.stringify(a)}\n`])).toEqual([b, a]);
  });

  it('hands a batch array on message by message', () => {
    expect(parse([JSON.stringify([a, b])])).toEqual([a, b]);
  });

  it('refuses what is not JSON when the answer ends', () => {
    expect(() => parse(['{"jsonrpc":"2.0",'])).toThrow(SyntaxError);
    expect(() => parse(['not json\n'])).toThrow(SyntaxError);
  });

  it('bounds a document that never ends', () => {
    const parser = createJsonLinesParser(() => undefined);
    expect(() => parser.feed(`{"x":"${'a'.repeat(maxJsonLinesBuffer)}`)).toThrow(/larger than/);
  });
});

describe('tolerateJsonLines (the SDK path)', () => {
  const respond = (body: string | ReadableStream<Uint8Array>, type = 'application/json') =>
    new Response(body, { status: 200, headers: { 'content-type': type } });

  it('leaves a single JSON document as the JSON answer it was', async () => {
    const out = await tolerateJsonLines(respond(JSON.stringify(b)));
    expect(out.headers.get('content-type')).toBe('application/json');
    expect(await out.json()).toEqual(b);
  });

  it('turns newline-delimited messages into SSE events, even from a stream that stays open', async () => {
    const encoder = new TextEncoder();
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
    push.enqueue(encoder.encode(`${JSON.stringify(a)}\n`));
    const out = await tolerateJsonLines(respond(stream));
    expect(out.headers.get('content-type')).toBe('text/event-stream');
    const reader = out.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe(`event: message\ndata: ${JSON.stringify(a)}\n\n`);
    push.enqueue(encoder.encode(`${JSON.stringify(b)}\n`));
    const second = new TextDecoder().decode((await reader.read()).value);
    expect(second).toBe(`event: message\ndata: ${JSON.stringify(b)}\n\n`);
    push.close();
    expect((await reader.read()).done).toBe(true);
  });

  it('leaves other answers alone', async () => {
    const sse = respond('event: message\ndata: {}\n\n', 'text/event-stream');
    expect(await tolerateJsonLines(sse)).toBe(sse);
    const error = new Response('{}', { status: 400, headers: { 'content-type': 'application/json' } });
    expect(await tolerateJsonLines(error)).toBe(error);
  });
});
