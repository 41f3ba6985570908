// Copies a value a bot hands to ctx.post / ctx.setState out of the sandbox, walking it from the host: own enumerable
// string keys, array elements and primitives only. Nothing the bot can change is consulted: no toJSON, no
// prototype, no JSON.stringify or Array.prototype of the sandbox (a bot that sets Object.prototype.toJSON used to
// get its posts stored as whatever that returned). The built-ins it does call (Array.isArray, Reflect.get) are the
// pristine ones captured when the context was prepared, called through handles the bot cannot reach.
// It must not decide whether the copied value is acceptable beyond its shape (bot-output.ts checks sizes and kinds).
//
// JSON's own rules hold otherwise: undefined is dropped from objects and becomes null in arrays, NaN and ±Infinity
// become null, -0 becomes 0; functions, symbols and BigInts anywhere, and cycles, are refused. An own getter or a
// Proxy trap still runs (it is the bot's own code, under its budget), as JSON.stringify would run it, and what it
// throws (out of memory included) is thrown again from the bot's ctx call, unchanged.
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import type { SandboxRun } from './quickjs-engine.ts';

/** The pristine built-ins the walk calls, captured from a context before any bot code ran in it. */
export interface CopyPrimordials {
  isArray: QuickJSHandle;
  get: QuickJSHandle;
  /** Object.keys: own enumerable string keys in JSON.stringify's order, as an array inside the sandbox. */
  keys: QuickJSHandle;
}

export function capturePrimordials(vm: QuickJSContext): CopyPrimordials {
  const pick = (object: string, key: string): QuickJSHandle => {
    const holder = vm.getProp(vm.global, object);
    try {
      return vm.getProp(holder, key);
    } finally {
      holder.dispose();
    }
  };
  return { isArray: pick('Array', 'isArray'), get: pick('Reflect', 'get'), keys: pick('Object', 'keys') };
}

export function releasePrimordials(primordials: CopyPrimordials): void {
  primordials.isArray.dispose();
  primordials.get.dispose();
  primordials.keys.dispose();
}

export interface CopyLimits {
  /** Containers may nest this deep (a scalar is depth 0). */
  maxDepth: number;
  /** Stop early once the JSON text is certainly longer than this (a lower bound of its UTF-8 length is kept). */
  maxBytes: number;
}

export type CopyResult =
  | { value: unknown }
  | { problem: string }
  /** The hook's budget ran out during the copy. */
  | { budget: true }
  /** A getter or Proxy trap threw this (the caller owns the handle and hands it back to the sandbox). */
  | { thrown: QuickJSHandle };

/** Host work per value visited, charged to the hook's instruction budget like any other bridge work. */
const INSTRUCTIONS_PER_VALUE = 20;
const INSTRUCTIONS_PER_CHAR = 1 / 8;

class CopyStop extends Error {
  readonly result: Exclude<CopyResult, { value: unknown }>;
  constructor(result: Exclude<CopyResult, { value: unknown }>) {
    super('copy stopped');
    this.result = result;
  }
}

/** Copies `handle` (undefined = an argument not given) to a plain host value, or says why it cannot. */
export function copyOut(
  run: SandboxRun,
  primordials: CopyPrimordials,
  handle: QuickJSHandle | undefined,
  limits: CopyLimits,
): CopyResult {
  const { vm } = run;
  const ancestors: QuickJSHandle[] = [];
  let bytes = 0;

  const count = (n: number): void => {
    bytes += n;
    if (bytes > limits.maxBytes)
      throw new CopyStop({ problem: `larger than ${limits.maxBytes} bytes of JSON` });
  };
  const charge = (instructions: number): void => {
    if (run.charge(instructions)) throw new CopyStop({ budget: true });
  };
  const call = (fn: QuickJSHandle, ...args: QuickJSHandle[]): QuickJSHandle => {
    const result = vm.callFunction(fn, vm.undefined, ...args);
    if (result.error) throw new CopyStop({ thrown: result.error });
    return result.value;
  };
  const read = (holder: QuickJSHandle, key: string | number): QuickJSHandle => {
    const keyHandle = typeof key === 'number' ? vm.newNumber(key) : vm.newString(key);
    try {
      return call(primordials.get, holder, keyHandle);
    } finally {
      keyHandle.dispose();
    }
  };

  /** undefined means "no JSON value here" (dropped in an object, null in an array). */
  const walk = (h: QuickJSHandle, depth: number): unknown => {
    charge(INSTRUCTIONS_PER_VALUE);
    const type = vm.typeof(h);
    switch (type) {
      case 'undefined':
        return undefined;
      case 'string': {
        const text = vm.getString(h);
        charge(text.length * INSTRUCTIONS_PER_CHAR);
        count(Buffer.byteLength(text) + 2);
        return text;
      }
      case 'number': {
        const n = vm.getNumber(h);
        const value = Number.isFinite(n) ? (Object.is(n, -0) ? 0 : n) : null;
        count(String(value).length);
        return value;
      }
      case 'boolean': {
        const value = vm.sameValue(h, vm.true);
        count(value ? 4 : 5);
        return value;
      }
      case 'object':
        break;
      default:
        throw new CopyStop({
          problem: `contains a ${type === 'bigint' || type === 'symbol' || type === 'function' ? type : 'non-JSON value'}`,
        });
    }
    if (vm.sameValue(h, vm.null)) {
      count(4);
      return null;
    }
    if (depth + 1 > limits.maxDepth)
      throw new CopyStop({ problem: `nests deeper than ${limits.maxDepth} levels of arrays and objects` });
    if (ancestors.some((a) => vm.sameValue(a, h))) throw new CopyStop({ problem: 'contains a cycle' });
    ancestors.push(h);
    try {
      count(2);
      const isArray = call(primordials.isArray, h);
      const array = vm.sameValue(isArray, vm.true);
      isArray.dispose();
      return array ? walkArray(h, depth + 1) : walkObject(h, depth + 1);
    } finally {
      ancestors.pop();
    }
  };

  const lengthOf = (h: QuickJSHandle): number => {
    const lengthHandle = read(h, 'length');
    const length = vm.typeof(lengthHandle) === 'number' ? vm.getNumber(lengthHandle) : 0;
    lengthHandle.dispose();
    return length;
  };

  const walkArray = (h: QuickJSHandle, depth: number): unknown[] => {
    const length = lengthOf(h);
    const out: unknown[] = [];
    for (let i = 0; i < length; i += 1) {
      if (i > 0) count(1);
      const element = read(h, i);
      try {
        const value = walk(element, depth);
        if (value === undefined) count(4);
        out.push(value === undefined ? null : value);
      } finally {
        element.dispose();
      }
    }
    return out;
  };

  const walkObject = (h: QuickJSHandle, depth: number): Record<string, unknown> => {
    // The keys stay an array inside the sandbox and are read one at a time: an object with a million keys costs its
    // budget, never a million host handles at once.
    const keys = call(primordials.keys, h);
    const out: Record<string, unknown> = {};
    let first = true;
    try {
      const length = lengthOf(keys);
      for (let i = 0; i < length; i += 1) {
        const keyHandle = read(keys, i);
        const key = vm.typeof(keyHandle) === 'string' ? vm.getString(keyHandle) : '';
        keyHandle.dispose();
        charge(INSTRUCTIONS_PER_VALUE + key.length * INSTRUCTIONS_PER_CHAR);
        readInto(out, h, key, depth, () => {
          count(Buffer.byteLength(key) + 3 + (first ? 0 : 1));
          first = false;
        });
      }
    } finally {
      keys.dispose();
    }
    return out;
  };

  /** Copies holder[key] into out (unless it has no JSON value), calling counted() first. */
  const readInto = (
    out: Record<string, unknown>,
    holder: QuickJSHandle,
    key: string,
    depth: number,
    counted: () => void,
  ): void => {
    const element = read(holder, key);
    try {
      const value = walk(element, depth);
      if (value === undefined) return;
      counted();
      // "__proto__" is data here (as JSON.parse makes it), never the host object's prototype.
      if (key === '__proto__')
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
    } finally {
      element.dispose();
    }
  };

  try {
    const value = handle === undefined ? undefined : walk(handle, 0);
    return { value: value === undefined ? null : value };
  } catch (error) {
    if (error instanceof CopyStop) return error.result;
    throw error;
  }
}
