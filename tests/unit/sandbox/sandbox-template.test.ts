// Prepared sandboxes restored from a memory snapshot after every run: nothing a run does reaches the next one, the
// results equal those of a fresh runtime + context per run, and the snapshot covers every live byte.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinBot } from '../../../servers/bot-runner/builtin/index.ts';
import { installBridge } from '../../../servers/sandbox/bot-bridge.ts';
import { configureBotSandbox, runBotHookInProcess } from '../../../servers/sandbox/bot-hook-inprocess.ts';
import type { BotHookInput, BotHookOutput } from '../../../servers/sandbox/bot-hook-types.ts';
import { instantiateSandboxModule, resolveSandboxLimits } from '../../../servers/sandbox/quickjs-engine.ts';
import { createSandboxTemplate } from '../../../servers/sandbox/sandbox-template.ts';
import { readWasmLayout, takeMemorySnapshot } from '../../../servers/sandbox/wasm-snapshot.ts';

afterAll(() => configureBotSandbox({ snapshots: true }));

const input = (source: string, extra: Partial<BotHookInput> = {}): BotHookInput => ({
  source,
  params: { p: 1 },
  hook: 'init',
  event: null,
  state: { s: 1 },
  randomKey: 'd4'.repeat(32),
  randomCounter: 3,
  now: 1_800_000_000_000,
  limits: { instructions: 1_000_000 },
  ...extra,
});

const bot = (body: string): string =>
  `class T { constructor(ctx) { this.ctx = ctx } onInit() { const ctx = this.ctx; ${body} } }`;

const polluter = bot(`
  Object.prototype.polluted = 1; Array.prototype.map = null; JSON.parse = () => 'evil';
  Date.prototype.getTime = () => 0; Math.random = () => 0.5; globalThis.leak = 42; var leakedVar = 1;
  new Promise(() => {}); Promise.resolve().then(() => { globalThis.late = 1 });
  const keep = []; for (let i = 0; i < 50000; i++) keep.push({ i, s: 'x' + i }); globalThis.keep = keep;
  ctx.post('bot', { done: true })`);

const observer = bot(`ctx.post('bot', {
  polluted: ({}).polluted, map: typeof [].map, parse: JSON.parse('2'), time: new Date(5).getTime(),
  random: Math.random() !== 0.5, leak: typeof leak, leakedVar: typeof leakedVar, late: typeof late, keep: typeof keep })`);

describe('prepared bot sandbox', () => {
  it('hands every hook a pristine context, whatever the previous hook did', async () => {
    const pristine = await runBotHookInProcess(input(observer));
    expect(pristine.posts).toEqual([
      {
        kind: 'bot',
        body: {
          map: 'function',
          parse: 2,
          time: 5,
          random: true,
          leak: 'undefined',
          leakedVar: 'undefined',
          late: 'undefined',
          keep: 'undefined',
        },
      },
    ]);
    for (const hostile of [polluter, bot('for (;;) {}'), bot(`throw new Error('x')`), polluter]) {
      await runBotHookInProcess(input(hostile));
      expect((await runBotHookInProcess(input(observer))).posts).toEqual(pristine.posts);
    }
  });

  it('gives the same outputs as a fresh runtime + context per hook', async () => {
    const guess = builtinBot('GuessBot')!.source;
    const hooks = [
      input(
        bot(
          `ctx.post('bot', { r: ctx.random(), i: ctx.randomInt(99), m: Math.random(), d: String(new Date()) })`,
        ),
      ),
      input(polluter),
      input(bot(`ctx.setState({ seen: ctx.getState(), sha: ctx.sha256('a') }); ctx.log('x', 1)`)),
      input(bot('for (;;) {}')),
      input(bot(`let s = 'x'; for (;;) s += s;`), { limits: { instructions: 1e8 } }),
      input(observer),
      input(
        `export default class { constructor(c) { this.c = c } async onInit() { await 1; this.c.post('m', 1) } }`,
      ),
      input('class {'),
      input(guess, { state: null, event: { channelId: 'c1', slots: ['s1', 's2'] } }),
    ];
    const runAll = async (): Promise<BotHookOutput[]> => {
      const outs: BotHookOutput[] = [];
      for (const hook of hooks) outs.push(await runBotHookInProcess(hook));
      return outs;
    };
    const restored = await runAll();
    configureBotSandbox({ snapshots: false });
    const fresh = await runAll();
    configureBotSandbox({ snapshots: true });
    expect(restored).toEqual(fresh);
    expect(restored.map((o) => o.error?.code)).toEqual([
      undefined,
      undefined,
      undefined,
      'ERR_BOT_TIMEOUT',
      'ERR_BOT_MEMORY',
      undefined,
      undefined,
      'ERR_BOT_SOURCE',
      undefined,
    ]);
  });
});

describe('createSandboxTemplate', () => {
  it('runs every body in the prepared state and keeps the module between runs', async () => {
    const template = createSandboxTemplate({
      prepare: (vm) => vm.unwrapResult(vm.evalCode('globalThis.n = 0; (function () { return ++n; })')),
      release: (handle) => handle.dispose(),
    });
    const count = () =>
      template.run(resolveSandboxLimits(), (run, next) => {
        const result = run.vm.unwrapResult(run.vm.callFunction(next, run.vm.undefined));
        const value = run.vm.getNumber(result);
        result.dispose();
        return value;
      });
    expect([await count(), await count(), await count()]).toEqual([1, 1, 1]);
    expect(await template.snapshotBytes()).toBeLessThan(1024 * 1024);
  });
});

describe('wasm memory snapshots', () => {
  const wasmFile = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');

  it('reads the layout of the installed build: statics, a 5 MiB stack, then the heap', () => {
    const layout = readWasmLayout(readFileSync(wasmFile));
    expect(layout).toBeDefined();
    expect(layout!.stackTop - layout!.staticEnd).toBe(5 * 1024 * 1024);
    expect(layout!.staticEnd).toBeLessThan(1024 * 1024);
  });

  it('covers every non-zero byte of a freshly prepared module, skipping only the idle stack', async () => {
    const loaded = await instantiateSandboxModule();
    const layout = loaded.layout!;
    const runtime = loaded.module.newRuntime();
    const vm = runtime.newContext();
    const bridge = installBridge(vm, {});
    const snapshot = takeMemorySnapshot(loaded.memoryBuffer(), layout);
    const memory = new Uint8Array(loaded.memoryBuffer());
    let last = memory.length - 1;
    while (last > 0 && memory[last] === 0) last--;
    const heapBytes = snapshot.bytes - layout.staticEnd;
    expect(layout.stackTop + heapBytes).toBeGreaterThan(last);
    let stackInUse = layout.staticEnd;
    while (stackInUse < layout.stackTop && memory[stackInUse] === 0) stackInUse++;
    expect(layout.stackTop - stackInUse).toBeLessThan(256 * 1024); // below that, the stack was never touched
    bridge.release();
    vm.dispose();
    runtime.dispose();
  });
});
