// What a container writes: two sinks (stdout, stderr) for modem.demuxStream that keep at most maxBytes in total,
// flag the rest as truncated and call onLimit once, and hand the text to a live listener in coalesced pieces (a
// flood of tiny writes becomes a few notifications). It must not know about Docker or MCP.
import { Writable } from 'node:stream';
import { TextDecoder } from 'node:util';

export type StreamName = 'stdout' | 'stderr';

export interface OutputChunk {
  readonly stream: StreamName;
  readonly text: string;
  /** Bytes kept so far, both streams together. */
  readonly bytes: number;
}

export interface OutputCollector {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Sends what is pending to the listener now. */
  flush(): void;
  result(): { stdout: string; stderr: string; truncated: boolean };
  /** The kept bytes themselves (binary files). */
  raw(): { stdout: Buffer; stderr: Buffer };
}

export interface OutputOptions {
  maxBytes: number;
  /** Called once when more than maxBytes arrived (the caller kills the process). */
  onLimit?: () => void;
  /** Live output, in order per stream; pieces are sent every flushMs or when flushBytes are pending. */
  onChunk?: (chunk: OutputChunk) => void;
  flushMs?: number;
  flushBytes?: number;
}

export function createOutputCollector(options: OutputOptions): OutputCollector {
  const kept: Record<StreamName, Buffer[]> = { stdout: [], stderr: [] };
  const decoders: Record<StreamName, TextDecoder> = {
    stdout: new TextDecoder('utf-8'),
    stderr: new TextDecoder('utf-8'),
  };
  let pending: { stream: StreamName; text: string } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let bytes = 0;
  let truncated = false;
  const flushMs = options.flushMs ?? 100;
  const flushBytes = options.flushBytes ?? 16_384;

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending === undefined || pending.text === '') return;
    const chunk = { stream: pending.stream, text: pending.text, bytes };
    pending = undefined;
    options.onChunk?.(chunk);
  }

  function live(stream: StreamName, piece: Buffer): void {
    if (options.onChunk === undefined) return;
    if (pending !== undefined && pending.stream !== stream) flush();
    const text = decoders[stream].decode(piece, { stream: true });
    pending = { stream, text: (pending?.text ?? '') + text };
    if (pending.text.length >= flushBytes) flush();
    else timer ??= setTimeout(flush, flushMs);
  }

  function take(stream: StreamName, chunk: Buffer): void {
    if (truncated) return;
    const room = options.maxBytes - bytes;
    const piece = chunk.length <= room ? chunk : chunk.subarray(0, room);
    if (piece.length > 0) {
      kept[stream].push(piece);
      bytes += piece.length;
      live(stream, piece);
    }
    if (chunk.length > room) {
      truncated = true;
      flush();
      options.onLimit?.();
    }
  }

  const sink = (stream: StreamName) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        take(stream, chunk);
        done();
      },
    });

  return {
    stdout: sink('stdout'),
    stderr: sink('stderr'),
    flush,
    result() {
      flush();
      const text = (stream: StreamName) => Buffer.concat(kept[stream]).toString('utf8');
      return { stdout: text('stdout'), stderr: text('stderr'), truncated };
    },
    raw: () => ({ stdout: Buffer.concat(kept.stdout), stderr: Buffer.concat(kept.stderr) }),
  };
}
