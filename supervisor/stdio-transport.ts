// An MCP client transport over the stdin/stdout of a child the supervisor already spawned (the SDK's own
// StdioClientTransport insists on spawning the process itself, which would bypass supervision).
// Lines on stdout that are not JSON-RPC are reported through `onGarbage` and skipped, never fatal.
// It must not spawn, kill or restart anything.
import type { Readable, Writable } from 'node:stream';
import {
  deserializeMessage,
  serializeMessage,
  type JSONRPCMessage,
  type Transport,
} from '@modelcontextprotocol/client';
import { readLines } from './lines.ts';

export interface ChildStdioTransportOptions {
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** A stdout line that is not a JSON-RPC message (first 200 characters). */
  readonly onGarbage?: (line: string) => void;
  readonly maxLineBytes?: number;
}

export class ChildStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #options: ChildStdioTransportOptions;
  #started = false;
  #closed = false;

  constructor(options: ChildStdioTransportOptions) {
    this.#options = options;
  }

  start(): Promise<void> {
    if (this.#started) throw new Error('ChildStdioTransport already started');
    this.#started = true;
    const { stdout, onGarbage } = this.#options;
    readLines(
      stdout,
      {
        line: (text) => {
          if (this.#closed || text.trim() === '') return;
          let message: JSONRPCMessage;
          try {
            message = deserializeMessage(text);
          } catch {
            onGarbage?.(text.slice(0, 200));
            return;
          }
          this.onmessage?.(message);
        },
        overflow: (bytes) => onGarbage?.(`<${bytes} bytes without a newline dropped>`),
      },
      this.#options.maxLineBytes,
    );
    stdout.once('close', () => void this.close());
    this.#options.stdin.on('error', (error: Error) => this.onerror?.(error));
    return Promise.resolve();
  }

  send(message: JSONRPCMessage): Promise<void> {
    const { stdin } = this.#options;
    if (this.#closed || !stdin.writable) return Promise.reject(new Error('child stdin is closed'));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.onclose?.();
    return Promise.resolve();
  }
}
