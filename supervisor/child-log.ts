// Per-child output handling: every line is prefixed with the child's id (`[id] line`), handed to a sink
// (the launcher's terminal), optionally appended to a per-child log file, and the last stderr lines are kept
// for status reports. Floods are summarised instead of copied line by line. It must not parse MCP.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export type ChildStream = 'stdout' | 'stderr' | 'supervisor';

export interface ChildLogLine {
  readonly id: string;
  readonly stream: ChildStream;
  readonly line: string;
}

export function formatChildLine(entry: { readonly id: string; readonly line: string }): string {
  return `[${entry.id}] ${entry.line}`;
}

export interface ChildLogOptions {
  readonly id: string;
  readonly sink?: (entry: ChildLogLine) => void;
  /** Append every line (prefixed, with the stream name) to this file. */
  readonly file?: string;
  readonly tailLines?: number;
  /** Lines per second forwarded to the sink before the rest is only counted. */
  readonly maxLinesPerSecond?: number;
  readonly now?: () => number;
}

export class ChildLog {
  readonly #options: ChildLogOptions;
  readonly #tail: string[] = [];
  readonly #file: WriteStream | undefined;
  #windowStart = 0;
  #inWindow = 0;
  #suppressed = 0;

  constructor(options: ChildLogOptions) {
    this.#options = options;
    if (options.file !== undefined) {
      mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
      this.#file = createWriteStream(options.file, { flags: 'a', mode: 0o600 });
      this.#file.on('error', () => undefined);
    }
  }

  /** The last stderr lines (and supervisor notes), oldest first. */
  tail(): string[] {
    return [...this.#tail];
  }

  write(stream: ChildStream, line: string): void {
    if (stream !== 'stdout') {
      this.#tail.push(line);
      const max = this.#options.tailLines ?? 20;
      if (this.#tail.length > max) this.#tail.splice(0, this.#tail.length - max);
    }
    this.#file?.write(`${new Date().toISOString()} ${stream} ${line}\n`);
    const entry: ChildLogLine = { id: this.#options.id, stream, line };
    if (stream === 'supervisor' || this.#admit()) this.#options.sink?.(entry);
  }

  close(): void {
    this.#flushSuppressed();
    this.#file?.end();
  }

  #admit(): boolean {
    const now = (this.#options.now ?? Date.now)();
    if (now - this.#windowStart >= 1_000) {
      this.#flushSuppressed();
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    this.#inWindow += 1;
    if (this.#inWindow <= (this.#options.maxLinesPerSecond ?? 200)) return true;
    this.#suppressed += 1;
    return false;
  }

  #flushSuppressed(): void {
    if (this.#suppressed === 0) return;
    const line = `(${this.#suppressed} more output lines suppressed${this.#file ? '; see the log file' : ''})`;
    this.#suppressed = 0;
    this.#options.sink?.({ id: this.#options.id, stream: 'supervisor', line });
  }
}
