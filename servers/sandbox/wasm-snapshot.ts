// A copy of the parts of a QuickJS wasm module's linear memory that its state lives in, and the restore that puts
// them back, so a prepared runtime + context (the bot prelude already evaluated) starts every run byte-for-byte as
// it was prepared. It owns the memory layout of the emscripten build and nothing about bots or budgets.
//
// Layout of the quickjs-emscripten build (emscripten, `-s STACK_SIZE=5MB`, no `--stack-first`), read from the wasm
// binary: [0, dataEnd) static data + bss | [dataEnd, stackTop) the C stack, growing down | [stackTop, …) the heap.
// Between two calls into the module the C stack holds nothing live (the stack pointer is a wasm global, back at
// stackTop), so a snapshot copies the statics (malloc's state, the sbrk break, QuickJS globals) and the heap up to
// its last non-zero byte. Above that the memory is free: the allocator's top chunk or beyond the break. QuickJS
// initialises everything it hands out, so garbage a run leaves up there is never readable by the next run.
// Snapshots must be taken on a module nothing else has used, so the heap ends at its last non-zero byte.

/** quickjs-emscripten links with `-s STACK_SIZE=5MB` (templates/Variant.mk). */
const EMSCRIPTEN_STACK_BYTES = 5 * 1024 * 1024;
/** A heap scan stops at the first run of this many zero bytes after the last live byte (a fresh module is zero). */
const ZERO_RUN_BYTES = 256 * 1024;

export interface WasmLayout {
  /** End of the static data and bss: the bottom of the C stack. */
  staticEnd: number;
  /** Initial stack pointer: the top of the C stack and the start of the heap. */
  stackTop: number;
}

/**
 * Reads the stack pointer's initial value (the first defined global) and the end of the data segments from the
 * binary. Returns undefined when the binary does not look like the expected emscripten build.
 */
export function readWasmLayout(bytes: Uint8Array): WasmLayout | undefined {
  let at = 8; // magic + version
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[at++] ?? 0;
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0 || shift > 35) return result;
    }
  };
  const i32 = (): number => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bytes[at++] ?? 0;
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    return shift < 32 && byte & 0x40 ? result | (-1 << shift) : result;
  };
  let stackTop: number | undefined;
  let dataEnd = 0;
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = u32();
    const end = at + size;
    if (id === 6 && u32() > 0) {
      const [type, mutable, op] = [bytes[at++], bytes[at++], bytes[at++]];
      if (type === 0x7f && mutable === 1 && op === 0x41) stackTop = i32();
    } else if (id === 11) {
      for (let n = u32(); n > 0; n--) {
        if (u32() !== 0 || bytes[at++] !== 0x41) return undefined; // only active i32.const segments
        const offset = i32();
        at += 1; // end
        const length = u32();
        dataEnd = Math.max(dataEnd, offset + length);
        at += length;
      }
    }
    at = end;
  }
  if (stackTop === undefined || dataEnd === 0 || stackTop <= dataEnd) return undefined;
  const stackBottom = stackTop - EMSCRIPTEN_STACK_BYTES;
  // A different stack size: everything below the stack top is copied (slower, still exact).
  return { staticEnd: stackBottom >= dataEnd ? stackBottom : stackTop, stackTop };
}

export interface MemorySnapshot {
  /** Bytes copied back by each restore. */
  readonly bytes: number;
  restore(): void;
}

/** Copies the statics and the live heap of `buffer` (a module's fixed memory) now. */
export function takeMemorySnapshot(buffer: ArrayBuffer, layout: WasmLayout): MemorySnapshot {
  const memory = new Uint8Array(buffer);
  const heapEnd = findHeapEnd(memory, layout.stackTop);
  const statics = memory.slice(0, layout.staticEnd);
  const heap = memory.slice(layout.stackTop, heapEnd);
  return {
    bytes: statics.length + heap.length,
    restore() {
      memory.set(statics, 0);
      memory.set(heap, layout.stackTop);
    },
  };
}

function findHeapEnd(memory: Uint8Array, start: number): number {
  const words = new Int32Array(memory.buffer, 0, memory.length >>> 2);
  let lastLive = start >>> 2;
  for (let i = start >>> 2; i < words.length; i++) {
    if (words[i] !== 0) lastLive = i;
    else if ((i - lastLive) * 4 >= ZERO_RUN_BYTES) break;
  }
  return Math.min(memory.length, (lastLive + 1) * 4 + 64);
}
