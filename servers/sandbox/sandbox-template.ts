// Prepared sandboxes: a runtime + context set up once per wasm module (for bots: the host functions installed and
// the prelude evaluated), then a snapshot of the module's memory (wasm-snapshot.ts) that is restored after every
// run, so each run starts from the same pristine context without paying again for creating it and compiling the
// prelude (measured: ~1.6 ms of a 2.0 ms empty bot hook). Nothing a run does survives the restore: its objects,
// globals, prototype changes, atoms, pending jobs and heap accounting all go back to the prepared bytes.
// It owns the prepared module's lifecycle; budgets and limits come from quickjs-engine.ts, and it knows nothing
// about bots. Without a readable memory layout it falls back to a fresh runtime + context per run (withSandbox).
import type { QuickJSContext, QuickJSRuntime } from 'quickjs-emscripten';
import {
  INSTRUCTIONS_PER_POLL,
  createRunBudget,
  instantiateSandboxModule,
  runtimeMemoryLimit,
  sandboxLimitDefaults,
  sandboxLimitMaxima,
  withSandbox,
} from './quickjs-engine.ts';
import type { SandboxLimits, SandboxModule, SandboxRun } from './quickjs-engine.ts';
import { takeMemorySnapshot } from './wasm-snapshot.ts';
import type { MemorySnapshot } from './wasm-snapshot.ts';

export interface SandboxTemplateOptions<P> {
  /** Sets up a new context (once per module, or per run without snapshots); returns what runs need from it. */
  prepare(vm: QuickJSContext): P;
  /** Releases what prepare returned, when the context is not kept (runs without snapshots). */
  release(prepared: P): void;
  /** false: a fresh runtime + context and prepare() for every run, as if the layout were unknown. */
  snapshots?: boolean;
}

export interface SandboxTemplate<P> {
  /**
   * Runs `body` synchronously in a prepared context with the given limits, then restores the prepared state. The
   * body must dispose every handle it creates. A thrown host-side error, or run.poison(), retires the module.
   */
  run<T>(limits: SandboxLimits, body: (run: SandboxRun, prepared: P) => T): Promise<T>;
  /** Instantiates and prepares the module now, so the first run does not pay for it. */
  warm(): Promise<void>;
  /** Bytes each restore copies (undefined without snapshots); for tests and the benchmark. */
  snapshotBytes(): Promise<number | undefined>;
}

interface PreparedModule<P> {
  loaded: SandboxModule;
  runtime: QuickJSRuntime;
  vm: QuickJSContext;
  prepared: P;
  snapshot: MemorySnapshot;
}

const idle = (): boolean => false;

export function createSandboxTemplate<P>(options: SandboxTemplateOptions<P>): SandboxTemplate<P> {
  const useSnapshots = options.snapshots ?? true;
  let current: Promise<PreparedModule<P> | undefined> | undefined;

  const load = (): Promise<PreparedModule<P> | undefined> => {
    current ??= prepareModule();
    const loading = current;
    loading.catch(() => {
      if (current === loading) current = undefined;
    });
    return loading;
  };

  // A module of its own, used for nothing else: the snapshot relies on its heap ending at its last live byte.
  async function prepareModule(): Promise<PreparedModule<P> | undefined> {
    if (!useSnapshots) return undefined;
    const loaded = await instantiateSandboxModule();
    if (loaded.layout === undefined) return undefined;
    const runtime = loaded.module.newRuntime({
      memoryLimitBytes: sandboxLimitMaxima.memoryBytes,
      maxStackSizeBytes: sandboxLimitDefaults.stackBytes,
      interruptHandler: idle, // enabled in C now, so runs only swap the JS callback
    });
    const vm = runtime.newContext();
    void vm.global; // a lazily made handle created after the snapshot would point at restored-away memory
    const prepared = options.prepare(vm);
    const snapshot = takeMemorySnapshot(loaded.memoryBuffer(), loaded.layout);
    return { loaded, runtime, vm, prepared, snapshot };
  }

  async function run<T>(limits: SandboxLimits, body: (run: SandboxRun, prepared: P) => T): Promise<T> {
    let loading = load();
    let ready = await loading;
    while (current !== loading) {
      // another run retired this module while we waited for it: never run on a retired module
      loading = load();
      ready = await loading;
    }
    if (ready === undefined) {
      return withSandbox(limits, (sandbox) => {
        const prepared = options.prepare(sandbox.vm);
        try {
          return body(sandbox, prepared);
        } finally {
          options.release(prepared);
        }
      });
    }
    const { runtime, vm, loaded } = ready;
    const budget = createRunBudget(limits);
    let clean = false;
    try {
      runtime.setMemoryLimit(runtimeMemoryLimit(limits));
      runtime.setMaxStackSize(limits.stackBytes);
      runtime.setInterruptHandler(() => budget.charge(INSTRUCTIONS_PER_POLL));
      const result = body(budget.run(vm, loaded.memoryBuffer), ready.prepared);
      clean = !budget.poisoned;
      return result;
    } finally {
      runtime.setInterruptHandler(idle);
      if (clean) ready.snapshot.restore();
      else if (current === loading) current = undefined; // out of memory or a trap: a fresh module next time
    }
  }

  return {
    run,
    async warm() {
      await load();
    },
    async snapshotBytes() {
      return (await load())?.snapshot.bytes;
    },
  };
}
