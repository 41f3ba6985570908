// The parent's side of an interpreter's wire (see pyodide-child.js): JSON lines on the child's stdout, one of which
// may announce a binary block (the memory snapshot) that follows it raw; and a bounded tail of its stderr for
// diagnostics. It owns framing only; what messages mean is pyodide-process.ts's business.
import type { ChildProcess } from 'node:child_process';

export interface ChildMessage {
  t: string;
  [key: string]: unknown;
}

export interface ChildWire {
  /** Every parsed message, in order; a message with `bytes` is delivered with its block as `block`. */
  onMessage(listener: (message: ChildMessage) => void): void;
  /** The last few KB the child wrote to stderr. */
  stderrTail(): string;
}

const STDERR_TAIL_BYTES = 8_192;
/** A line longer than this is a broken child, not a message (results are capped well below it). */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

export function createChildWire(child: ChildProcess): ChildWire {
  const listeners: ((message: ChildMessage) => void)[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let block: { message: ChildMessage; bytes: number } | undefined;
  let stderr = '';

  const deliver = (message: ChildMessage): void => {
    for (const listener of listeners) listener(message);
  };
  const take = (count: number): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    const head = all.subarray(0, count);
    const rest = all.subarray(count);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return head;
  };

  child.stdout?.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    for (;;) {
      if (block !== undefined) {
        if (pendingBytes < block.bytes) return;
        const { message, bytes } = block;
        block = undefined;
        deliver({ ...message, block: Buffer.from(take(bytes)) });
        continue;
      }
      const joined = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = joined.length > 0 ? [joined] : [];
      const newline = joined.indexOf(10);
      if (newline < 0) {
        if (pendingBytes > MAX_LINE_BYTES) child.kill('SIGKILL');
        return;
      }
      const line = take(newline + 1)
        .subarray(0, newline)
        .toString('utf8');
      let message: ChildMessage;
      try {
        message = JSON.parse(line) as ChildMessage;
      } catch {
        child.kill('SIGKILL'); // not our protocol: never trust the rest of the stream
        return;
      }
      if (typeof message.bytes === 'number' && message.t === 'snapshot')
        block = { message, bytes: message.bytes };
      else deliver(message);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
  });
  return {
    onMessage(listener) {
      listeners.push(listener);
    },
    stderrTail: () => stderr,
  };
}
