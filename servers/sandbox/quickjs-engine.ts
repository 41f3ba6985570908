// The QuickJS-in-WebAssembly engine shared by the bot runner and the code runner (ARCHITECTURE.md decision 11).
// It owns the WebAssembly modules (one FIXED-SIZE memory each), a fresh runtime + context per run (withSandbox),
// and the budgets (instruction count via the interrupt handler, wall-clock backstop). It knows nothing about bots or
// their API. Prepared contexts restored from a memory snapshot after every run are in sandbox-template.ts.
//
// Isolation design, measured (bench/bot-hook.ts): compiling the wasm once and instantiating a module costs ~1-6 ms,
// a runtime + context ~0.2-0.4 ms. So one module is reused and every run gets its own runtime and context: runtimes
// share no JS objects, atoms or job queues. The module itself is thrown away ("poisoned") after a run ran out of
// memory or trapped, so fragmentation or a corrupt heap never reaches the next run.
//
// Memory: `setMemoryLimit` is QuickJS's own malloc accounting, which in this build (no malloc_usable_size)
// undercounts the real heap by up to ~2.5x (measured: a 32 MiB limit let an array bomb use ~76 MB). So the
// WebAssembly.Memory is created with initial === maximum at 4x the largest allowed limit: the accounting trips
// first and QuickJS throws "out of memory" inside the sandbox. If something still slips past it, the heap cannot
// grow, malloc fails or the wasm traps, the run fails with ERR_BOT_MEMORY and the module is retired.
// The host process's memory is never at risk.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten';
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten';
import { readWasmLayout } from './wasm-snapshot.ts';
import type { WasmLayout } from './wasm-snapshot.ts';

export interface SandboxLimits {
  /** QuickJS heap limit for one run (malloc accounting), bytes. */
  memoryBytes: number;
  /** Approximate budget of QuickJS operations (backward jumps and calls) for one run. */
  instructions: number;
  /** Wall-clock backstop for one run, milliseconds. */
  wallMs: number;
  /** QuickJS stack limit, bytes. */
  stackBytes: number;
}

/** Size of every module's fixed WebAssembly memory. A run's heap limit is capped below it. */
export const MODULE_MEMORY_BYTES = 128 * 1024 * 1024;
/** QuickJS polls the interrupt handler about once per this many operations. */
export const INSTRUCTIONS_PER_POLL = 10_000;
/**
 * Promise jobs are charged separately: QuickJS polls rarely while it runs many tiny jobs (measured ~1,900 jobs per
 * poll at ~7 µs each), so a self-feeding promise chain would otherwise run for seconds within the budget.
 */
export const INSTRUCTIONS_PER_JOB = 1_000;

export const sandboxLimitDefaults: Readonly<SandboxLimits> = Object.freeze({
  memoryBytes: 16 * 1024 * 1024,
  instructions: 5_000_000,
  wallMs: 5_000,
  stackBytes: 256 * 1024,
});

export const sandboxLimitMaxima: Readonly<SandboxLimits> = Object.freeze({
  memoryBytes: MODULE_MEMORY_BYTES / 4,
  instructions: 2_000_000_000,
  wallMs: 30_000,
  stackBytes: 384 * 1024,
});

/** Fills in defaults and clamps to [1, maximum]; non-numbers and non-positive values fall back to the default. */
export function resolveSandboxLimits(
  partial?: Partial<SandboxLimits>,
  defaults: Readonly<SandboxLimits> = sandboxLimitDefaults,
): SandboxLimits {
  const pick = (key: keyof SandboxLimits): number => {
    const value = partial?.[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return defaults[key];
    return Math.min(Math.floor(value), sandboxLimitMaxima[key]) || 1;
  };
  return {
    memoryBytes: pick('memoryBytes'),
    instructions: pick('instructions'),
    wallMs: pick('wallMs'),
    stackBytes: pick('stackBytes'),
  };
}

export type StopReason = 'instructions' | 'wall';

export interface SandboxRun {
  readonly vm: QuickJSContext;
  readonly runtime: QuickJSRuntime;
  /** Why the budget stopped the run, if it did. Once stopped, every later poll interrupts again. */
  stopped(): StopReason | undefined;
  /** Ask for the module to be replaced after this run (out of memory, trap). */
  poison(): void;
  /** Runs pending promise jobs within the budget; returns the first job's thrown value, if any (caller disposes). */
  drainJobs(): QuickJSHandle | undefined;
  /**
   * Charges host work done for the sandbox (hashing, JSON) to the instruction budget and checks the clock, so a bot
   * cannot buy seconds of host time with a few cheap calls. Returns true when the run must stop.
   */
  charge(instructions: number): boolean;
  /** Current size of the module's WebAssembly memory in bytes (fixed: it never grows). */
  wasmMemoryBytes(): number;
}

// The repository's TypeScript lib has no WebAssembly typings (no DOM lib); this is the little we use.
type WasmModule = object;
type WasmMemory = object;
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface CompiledWasm {
  module?: WasmModule;
  layout?: WasmLayout;
}

/** A QuickJS wasm module with its own fixed memory. */
export interface SandboxModule {
  readonly module: QuickJSWASMModule;
  /** Where the statics, stack and heap sit in its memory, when the binary could be read. */
  readonly layout: WasmLayout | undefined;
  readonly memoryBuffer: () => ArrayBuffer;
}

let compiledWasm: Promise<CompiledWasm> | undefined;
let currentModule: Promise<QuickJSWASMModule> | undefined;
let modulesCreated = 0;

function compileWasm(): Promise<CompiledWasm> {
  compiledWasm ??= (async () => {
    try {
      const require = createRequire(import.meta.url);
      const bytes = readFileSync(require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm'));
      return { module: await wasm.compile(bytes), layout: readWasmLayout(bytes) };
    } catch {
      return {}; // Emscripten then locates and compiles the file itself for each module
    }
  })();
  return compiledWasm;
}

/** Instantiates a fresh module (~1–6 ms: a new fixed memory); the wasm itself is compiled once per process. */
export async function instantiateSandboxModule(): Promise<SandboxModule> {
  const compiled = await compileWasm();
  const pages = MODULE_MEMORY_BYTES / 65_536;
  const wasmMemory = new wasm.Memory({ initial: pages, maximum: pages });
  const wasmModule = compiled.module;
  const variant = newVariant(RELEASE_SYNC, wasmModule ? { wasmModule, wasmMemory } : { wasmMemory });
  const module = await newQuickJSWASMModuleFromVariant(variant);
  modulesCreated += 1;
  return {
    module,
    layout: wasmModule ? compiled.layout : undefined,
    memoryBuffer: () => (module.getWasmMemory() as unknown as { buffer: ArrayBuffer }).buffer,
  };
}

function loadModule(): Promise<QuickJSWASMModule> {
  currentModule ??= instantiateSandboxModule().then((loaded) => loaded.module);
  const loading = currentModule;
  loading.catch(() => {
    if (currentModule === loading) currentModule = undefined;
  });
  return loading;
}

/** How many wasm modules this process has instantiated (tests and the benchmark watch module recycling). */
export function sandboxModulesCreated(): number {
  return modulesCreated;
}

/** Warm the engine (compile and instantiate) so the first run does not pay for it. */
export async function warmSandbox(): Promise<void> {
  await loadModule();
}

/** The budget side of a SandboxRun, before it has a runtime: `charge` is what the interrupt handler calls. */
export interface RunBudget {
  charge(instructions: number): boolean;
  stopped(): StopReason | undefined;
  /** Builds the SandboxRun for `vm` (poison() sets `poisoned`). */
  run(vm: QuickJSContext, memoryBuffer: () => ArrayBuffer): SandboxRun;
  readonly poisoned: boolean;
}

/** Instruction, job and wall-clock accounting for one run; the wall clock starts now. */
export function createRunBudget(limits: SandboxLimits): RunBudget {
  const maxPolls = Math.max(1, Math.ceil(limits.instructions / INSTRUCTIONS_PER_POLL));
  const started = performance.now();
  let polls = 0;
  let jobsLeft = Math.max(100, Math.floor(limits.instructions / INSTRUCTIONS_PER_JOB));
  let stop: StopReason | undefined;
  let poisoned = false;
  const charge = (instructions: number): boolean => {
    if (stop === undefined) {
      polls += instructions / INSTRUCTIONS_PER_POLL;
      if (polls > maxPolls) stop = 'instructions';
      else if (performance.now() - started > limits.wallMs) stop = 'wall';
    }
    return stop !== undefined;
  };
  const stopped = (): StopReason | undefined => stop;
  return {
    charge,
    stopped,
    get poisoned() {
      return poisoned;
    },
    run(vm, memoryBuffer) {
      const runtime = vm.runtime;
      return {
        vm,
        runtime,
        stopped,
        charge,
        poison: () => {
          poisoned = true;
        },
        drainJobs: () => {
          while (stop === undefined && runtime.hasPendingJob()) {
            if (jobsLeft <= 0) {
              stop = 'instructions';
              break;
            }
            const result = runtime.executePendingJobs(Math.min(jobsLeft, 256));
            if (result.error) return result.error;
            jobsLeft -= Math.max(1, result.value);
          }
          return undefined;
        },
        wasmMemoryBytes: () => memoryBuffer().byteLength,
      };
    },
  };
}

/** The QuickJS heap limit a run gets (its own limit, capped below the module's fixed memory). */
export function runtimeMemoryLimit(limits: SandboxLimits): number {
  return Math.min(limits.memoryBytes, sandboxLimitMaxima.memoryBytes);
}

/**
 * Runs `body` synchronously in a fresh runtime + context with the given limits, then disposes both.
 * The body must dispose every handle it creates. A thrown host-side error (e.g. a wasm trap) poisons the module.
 */
export async function withSandbox<T>(limits: SandboxLimits, body: (run: SandboxRun) => T): Promise<T> {
  let modulePromise = loadModule();
  let module = await modulePromise;
  while (currentModule !== modulePromise) {
    // another run retired this module while we waited for it: never run on a retired module
    modulePromise = loadModule();
    module = await modulePromise;
  }
  const budget = createRunBudget(limits);
  let poisoned = false;
  let runtime: QuickJSRuntime | undefined;
  try {
    runtime = module.newRuntime({
      memoryLimitBytes: runtimeMemoryLimit(limits),
      maxStackSizeBytes: limits.stackBytes,
      interruptHandler: () => budget.charge(INSTRUCTIONS_PER_POLL),
    });
    const vm = runtime.newContext();
    try {
      return body(
        budget.run(vm, () => (module.getWasmMemory() as unknown as { buffer: ArrayBuffer }).buffer),
      );
    } finally {
      vm.dispose();
    }
  } catch (error) {
    poisoned = true;
    throw error;
  } finally {
    try {
      runtime?.dispose();
    } catch {
      poisoned = true;
    }
    if ((poisoned || budget.poisoned) && currentModule === modulePromise) currentModule = undefined;
  }
}
