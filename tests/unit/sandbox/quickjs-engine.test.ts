// The engine under the bot API: limits resolution, a fixed wasm memory that caps what QuickJS's own accounting
// misses, and fresh runtimes per run.
import { describe, expect, it } from 'vitest';
import {
  MODULE_MEMORY_BYTES,
  resolveSandboxLimits,
  sandboxLimitDefaults,
  sandboxLimitMaxima,
  withSandbox,
} from '../../../servers/sandbox/quickjs-engine.ts';

describe('resolveSandboxLimits', () => {
  it('fills defaults, clamps to the maxima and ignores nonsense', () => {
    expect(resolveSandboxLimits()).toEqual(sandboxLimitDefaults);
    expect(resolveSandboxLimits({ memoryBytes: 1e12, wallMs: 1e9, instructions: 1e12 })).toMatchObject({
      memoryBytes: sandboxLimitMaxima.memoryBytes,
      wallMs: sandboxLimitMaxima.wallMs,
      instructions: sandboxLimitMaxima.instructions,
    });
    expect(resolveSandboxLimits({ memoryBytes: -1, wallMs: Number.NaN, instructions: 0 })).toEqual(
      sandboxLimitDefaults,
    );
    expect(resolveSandboxLimits({ wallMs: 250.7 }).wallMs).toBe(250);
  });
});

describe('withSandbox', () => {
  it('keeps the wasm memory fixed: with QuickJS accounting switched off, a 200 MB buffer still fails inside', async () => {
    const result = await withSandbox(resolveSandboxLimits(), (run) => {
      run.runtime.setMemoryLimit(-1); // accounting off: only the fixed WebAssembly.Memory stands in the way
      const before = run.wasmMemoryBytes();
      const evaluated = run.vm.evalCode('new ArrayBuffer(2e8).byteLength');
      const error = evaluated.error ? (run.vm.dump(evaluated.error) as { message: string }) : undefined;
      (evaluated.error ?? evaluated.value).dispose();
      run.poison();
      return { before, after: run.wasmMemoryBytes(), error };
    });
    expect(result.before).toBe(MODULE_MEMORY_BYTES);
    expect(result.after).toBe(MODULE_MEMORY_BYTES);
    expect(result.error?.message).toBe('out of memory');
  });

  it('gives every run a fresh global scope', async () => {
    const read = () =>
      withSandbox(resolveSandboxLimits(), (run) => {
        const r = run.vm.unwrapResult(run.vm.evalCode('globalThis.seen = (globalThis.seen || 0) + 1; seen'));
        const value = run.vm.getNumber(r);
        r.dispose();
        return value;
      });
    expect([await read(), await read()]).toEqual([1, 1]);
  });

  it('stops a loop at the instruction budget and reports why', async () => {
    const reason = await withSandbox(resolveSandboxLimits({ instructions: 50_000 }), (run) => {
      const r = run.vm.evalCode('for (;;) {}');
      (r.error ?? r.value).dispose();
      return run.stopped();
    });
    expect(reason).toBe('instructions');
  });
});
