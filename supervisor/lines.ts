// Splits a byte stream into text lines, with a cap so a child that writes an endless line cannot exhaust
// memory (the over-long part is dropped and reported). It must not interpret the lines.
import type { Readable } from 'node:stream';

export interface LineSink {
  line(text: string): void;
  /** Called once per over-long line, with the number of bytes dropped. */
  overflow?(droppedBytes: number): void;
}

export function readLines(stream: Readable, sink: LineSink, maxLineBytes = 10 * 1024 * 1024): void {
  let parts: Buffer[] = [];
  let size = 0;
  let dropping = 0;
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (dropping > 0) {
        sink.overflow?.(dropping + piece.length);
        dropping = 0;
        continue;
      }
      parts.push(piece);
      const text = Buffer.concat(parts).toString('utf8').replace(/\r$/, '');
      parts = [];
      size = 0;
      sink.line(text);
    }
    const rest = chunk.subarray(start);
    if (rest.length === 0) return;
    if (dropping > 0 || size + rest.length > maxLineBytes) {
      dropping += size + rest.length;
      parts = [];
      size = 0;
      return;
    }
    parts.push(Buffer.from(rest));
    size += rest.length;
  });
  stream.on('end', () => {
    if (size > 0) sink.line(Buffer.concat(parts).toString('utf8'));
    if (dropping > 0) sink.overflow?.(dropping);
  });
}
