// Bot hook benchmark: latency of one hook (bot source parse, hook, output validation, then restoring the prepared
// context from its memory snapshot) for an empty hook, a simple stateful echo bot, and the builtin GuessBot /
// BlackjackBot, measured on this thread (runBotHookInProcess) and through the worker thread that runBotHook uses by
// default; plus the raw cost of a snapshot restore, of a fresh runtime + context (what each hook paid before the
// snapshots) and of replacing the wasm module after a memory failure.
//   node bench/bot-hook.ts [--iterations 2000] [--json-only]
// Prints a table to stderr and one JSON line to stdout. Target (issue 5): simple bot hook p50 ≤ 2 ms.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten';
import { builtinBot } from '../servers/bot-runner/builtin/index.ts';
import { installBridge } from '../servers/sandbox/bot-bridge.ts';
import { closeBotHost, runBotHook, runBotHookInProcess } from '../servers/sandbox/bot-host.ts';
import type { BotHookInput } from '../servers/sandbox/bot-host.ts';
import {
  MODULE_MEMORY_BYTES,
  resolveSandboxLimits,
  sandboxModulesCreated,
  warmSandbox,
  withSandbox,
} from '../servers/sandbox/quickjs-engine.ts';
import { createSandboxTemplate } from '../servers/sandbox/sandbox-template.ts';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '2000' },
    'json-only': { type: 'boolean', default: false },
  },
});
const iterations = Number(values.iterations);
const say = (line: string): void => {
  if (!values['json-only']) console.error(line);
};

interface Figures {
  p50: number;
  p99: number;
  mean: number;
}

function summarise(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

async function measure(run: (i: number) => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < Math.min(200, iterations); i++) await run(i); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    await run(i);
    samples.push(performance.now() - started);
  }
  return summarise(samples);
}

const KEY = 'a5'.repeat(32);
const base: Omit<BotHookInput, 'source' | 'hook' | 'event'> = {
  params: null,
  state: null,
  randomKey: KEY,
  randomCounter: 0,
  now: 1_790_000_000_000,
};

const emptyBot = 'class Empty {}';
const echoBot = `class EchoBot {
  constructor(ctx, params) { this.ctx = ctx; this.params = params; }
  onMessage(msg) {
    const state = this.ctx.getState() || { count: 0 };
    state.count += 1;
    this.ctx.setState(state);
    this.ctx.post('bot', { echo: msg.body, count: state.count, roll: this.ctx.randomInt(6) + 1 });
  }
}`;
const message = { seq: 10, ts: 0, slot: 's1', agent: 'alice', kind: 'user', body: 'hello' };

async function main(): Promise<void> {
  let started = performance.now();
  await warmSandbox();
  const firstModuleMs = performance.now() - started;

  const limits = resolveSandboxLimits();
  const runtimeContext = await measure(() => withSandbox(limits, () => undefined));
  const prepared = createSandboxTemplate({
    prepare: (vm) => installBridge(vm, {}),
    release: (bridge) => bridge.release(),
  });
  const restore = await measure(() => prepared.run(limits, () => undefined));
  const snapshotKb = Math.round(((await prepared.snapshotBytes()) ?? 0) / 1024);

  const empty = await measure(() =>
    runBotHookInProcess({ ...base, source: emptyBot, hook: 'message', event: message }),
  );
  const echoInput = (state: unknown): BotHookInput => ({
    ...base,
    source: echoBot,
    hook: 'message',
    event: message,
    state,
  });
  let echoState: unknown = null;
  const echo = await measure(async () => {
    const out = await runBotHookInProcess(echoInput(echoState));
    if (out.error) throw new Error(out.error.message);
    echoState = out.state;
  });
  const emptyWorker = await measure(() =>
    runBotHook({ ...base, source: emptyBot, hook: 'message', event: message }),
  );
  let workerState: unknown = null;
  const echoWorker = await measure(async () => {
    const out = await runBotHook(echoInput(workerState));
    if (out.error) throw new Error(out.error.message);
    workerState = out.state;
  });

  const guess = builtinBot('GuessBot')!;
  const init = await runBotHook({ ...base, source: guess.source, hook: 'init', event: null });
  const guessHook = await measure((i) =>
    runBotHookInProcess({
      ...base,
      source: guess.source,
      hook: 'message',
      event: { ...message, body: `guess ${(i % 100) + 1}` },
      state: init.state,
      randomCounter: init.randomCounter,
    }),
  );

  const blackjack = builtinBot('BlackjackBot')!;
  const seated = await runBotHook({ ...base, source: blackjack.source, hook: 'join', event: { slot: 's1' } });
  const deal = await measure((i) =>
    runBotHookInProcess({
      ...base,
      source: blackjack.source,
      hook: 'message',
      event: { ...message, body: 'deal' },
      state: seated.state,
      randomCounter: i * 60,
    }),
  );

  // Cost of a fresh wasm module with its own fixed memory (the wasm compiled once), i.e. of a module per hook.
  const wasmApi = (
    globalThis as unknown as {
      WebAssembly: { compile(b: Uint8Array): Promise<object>; Memory: new (d: object) => object };
    }
  ).WebAssembly;
  const wasmFile = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
  const wasmModule = await wasmApi.compile(readFileSync(wasmFile));
  const pages = MODULE_MEMORY_BYTES / 65_536;
  const savedIterations = iterations;
  const freshModule = summarise(
    await (async () => {
      const samples: number[] = [];
      for (let i = 0; i < Math.min(100, savedIterations); i++) {
        const t0 = performance.now();
        const wasmMemory = new wasmApi.Memory({ initial: pages, maximum: pages });
        const module = await newQuickJSWASMModuleFromVariant(
          newVariant(RELEASE_SYNC, { wasmModule, wasmMemory }),
        );
        module.newRuntime().dispose();
        samples.push(performance.now() - t0);
      }
      return samples;
    })(),
  );

  // Cost of a fresh module (paid once per process and after each memory failure).
  const modulesBefore = sandboxModulesCreated();
  started = performance.now();
  const bombs = 20;
  for (let i = 0; i < bombs; i++) {
    await runBotHookInProcess({
      ...base,
      source: 'class B { onInit() { new ArrayBuffer(1e9) } }',
      hook: 'init',
      event: null,
    });
  }
  const afterBomb = await runBotHookInProcess({ ...base, source: echoBot, hook: 'message', event: message });
  const recycleMs = (performance.now() - started) / bombs;
  if (afterBomb.error) throw new Error('hook after memory bomb failed');

  const result = {
    bench: 'bot-hook',
    iterations,
    node: process.version,
    firstModuleMs: Math.round(firstModuleMs * 100) / 100,
    snapshotRestoreMs: restore,
    snapshotKb,
    runtimeContextMs: runtimeContext,
    emptyHookMs: empty,
    echoHookMs: echo,
    emptyHookWorkerMs: emptyWorker,
    echoHookWorkerMs: echoWorker,
    guessBotHookMs: guessHook,
    blackjackDealHookMs: deal,
    freshModuleMs: freshModule,
    memoryBombPlusModuleRecycleMs: Math.round(recycleMs * 100) / 100,
    modulesRecycled: sandboxModulesCreated() - modulesBefore,
  };
  say(`bot hook latency over ${iterations} runs (ms)          p50      p99     mean`);
  const row = (name: string, f: Figures): void =>
    say(
      `  ${name.padEnd(46)}${String(f.p50).padStart(7)}${String(f.p99).padStart(9)}${String(f.mean).padStart(9)}`,
    );
  row(`prepared context restore only (${snapshotKb} KB)`, restore);
  row('fresh runtime + context only (for comparison)', runtimeContext);
  row('empty hook (no method)', empty);
  row('simple echo bot (state, random, post)', echo);
  row('empty hook, via worker (runBotHook)', emptyWorker);
  row('simple echo bot, via worker (runBotHook)', echoWorker);
  row('GuessBot "guess N"', guessHook);
  row('BlackjackBot "deal" (shuffle + commit)', deal);
  row('a fresh wasm module (for comparison)', freshModule);
  say(
    `  first wasm module: ${result.firstModuleMs} ms; memory bomb + module recycle: ${result.memoryBombPlusModuleRecycleMs} ms`,
  );
  console.log(JSON.stringify(result));
  await closeBotHost();
}

await main();
