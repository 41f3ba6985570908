// Bots that misbehave on purpose: loops, memory bombs, escapes, throws, garbage output, bad source.
// Each must end as a stable ERR_BOT_* code while the host process carries on.
import { describe, expect, it } from 'vitest';
import { runBotHook, runBotHookInProcess } from '../../../servers/sandbox/bot-host.ts';
import type { BotHookInput } from '../../../servers/sandbox/bot-host.ts';
import { thrownMessage } from '../../../servers/sandbox/bot-errors.ts';
import { sandboxModulesCreated } from '../../../servers/sandbox/quickjs-engine.ts';

const KEY = 'c3'.repeat(32);

function input(source: string, extra: Partial<BotHookInput> = {}): BotHookInput {
  return {
    source,
    params: null,
    hook: 'init',
    event: null,
    state: null,
    randomKey: KEY,
    randomCounter: 0,
    now: 1_800_000_000_000,
    ...extra,
  };
}

/** A bot whose onInit runs `body` with `ctx` in scope. */
const bot = (body: string): string =>
  `class Hostile { constructor(ctx) { this.ctx = ctx } onInit() { const ctx = this.ctx; ${body} } }`;

const healthy = bot(`ctx.post('bot', { ok: true })`);

async function expectHealthy(): Promise<void> {
  const out = await runBotHook(input(healthy));
  expect(out.error).toBeUndefined();
  expect(out.posts).toEqual([{ kind: 'bot', body: { ok: true } }]);
}

async function expectHealthyInProcess(): Promise<void> {
  const out = await runBotHookInProcess(input(healthy));
  expect(out.posts).toEqual([{ kind: 'bot', body: { ok: true } }]);
}

describe('hostile bots: time', () => {
  it('stops an infinite loop with ERR_BOT_TIMEOUT within the default budget, quickly', async () => {
    const started = performance.now();
    const out = await runBotHook(input(bot('for (;;) {}')));
    expect(out.error?.code).toBe('ERR_BOT_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(2_000);
    await expectHealthy();
  });

  it('cannot catch the interrupt and carry on', async () => {
    const out = await runBotHook(
      input(bot(`for (;;) { try { for (;;) {} } catch (e) { ctx.post('bot', { caught: String(e) }) } }`)),
    );
    expect(out.error?.code).toBe('ERR_BOT_TIMEOUT');
    expect(out.posts).toEqual([]);
  });

  it('stops a loop in top-level code and in promise jobs', async () => {
    expect((await runBotHook(input(`while (true) {}\n${healthy}`))).error?.code).toBe('ERR_BOT_TIMEOUT');
    const jobs = await runBotHook(input(bot(`const f = () => Promise.resolve().then(f); f();`)));
    expect(jobs.error?.code).toBe('ERR_BOT_TIMEOUT');
  });

  it('stops a looping getter on globalThis.Bot as a timeout', async () => {
    const out = await runBotHook(
      input(`Object.defineProperty(globalThis, 'Bot', { get() { for (;;) {} } });\nclass A {}`),
    );
    expect(out.error?.code).toBe('ERR_BOT_TIMEOUT');
  });

  it('charges host work to the budget: hashing a big string in a loop times out', async () => {
    const started = performance.now();
    const out = await runBotHook(input(bot(`const s = 'x'.repeat(4e6); for (;;) ctx.sha256(s);`)));
    expect(out.error?.code).toBe('ERR_BOT_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('stops catastrophic regex backtracking', async () => {
    const out = await runBotHook(input(bot(`/(a+)+$/.test('a'.repeat(40) + 'b')`)));
    expect(out.error?.code).toBe('ERR_BOT_TIMEOUT');
  });

  it('honours a smaller instruction budget and the wall-clock backstop', async () => {
    const small = await runBotHook(input(bot('for (;;) {}'), { limits: { instructions: 100_000 } }));
    expect(small.error).toEqual({
      code: 'ERR_BOT_TIMEOUT',
      message: 'the hook exceeded its instruction budget',
    });
    const started = performance.now();
    const wall = await runBotHook(input(bot('for (;;) {}'), { limits: { instructions: 1e9, wallMs: 50 } }));
    expect(wall.error).toEqual({
      code: 'ERR_BOT_TIMEOUT',
      message: 'the hook exceeded its wall-clock limit',
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('hostile bots: memory', () => {
  it.each([
    ['string doubling', `let s = 'x'; for (;;) s += s;`],
    [
      'flattened string doubling',
      `let s = 'xy'; for (;;) { s = s + s; s = s.split('').reverse().join(''); }`,
    ],
    ['a huge array', `const a = []; for (;;) a.push([a.length]);`],
    ['ArrayBuffer(1e9)', `new ArrayBuffer(1e9);`],
    ['a typed array of 200 MB', `new Uint8Array(2e8).fill(1);`],
    ['deep recursion', `const f = () => f() + 1; f();`],
  ])('ends %s with ERR_BOT_MEMORY and the next hook works', async (_name, body) => {
    const before = process.memoryUsage().rss;
    const out = await runBotHook(input(bot(body)));
    expect(out.error?.code).toBe('ERR_BOT_MEMORY');
    expect(out.posts).toEqual([]);
    await expectHealthy();
    // the bomb lived in the fixed wasm memory, never in the host heap
    expect(process.memoryUsage().rss - before).toBeLessThan(400 * 1024 * 1024);
  });

  it('replaces the wasm module after a memory failure', async () => {
    // in-process, so this thread's module counter is the one that moves
    await expectHealthyInProcess();
    const before = sandboxModulesCreated();
    expect((await runBotHookInProcess(input(bot(`new ArrayBuffer(1e9);`)))).error?.code).toBe(
      'ERR_BOT_MEMORY',
    );
    await expectHealthyInProcess();
    expect(sandboxModulesCreated()).toBe(before + 1);
  });
});

describe('hostile bots: module reuse', () => {
  it('keeps the wasm module after a hook that throws, times out or does not parse', async () => {
    await expectHealthyInProcess();
    const before = sandboxModulesCreated();
    const failing = [
      input(bot(`throw new Error('no')`)),
      input(bot('for (;;) {}'), { limits: { instructions: 100_000 } }),
      input('class {'),
    ];
    const codes = [];
    for (const hook of failing) codes.push((await runBotHookInProcess(hook)).error?.code);
    expect(codes).toEqual(['ERR_BOT_THROWN', 'ERR_BOT_TIMEOUT', 'ERR_BOT_SOURCE']);
    await expectHealthyInProcess();
    expect(sandboxModulesCreated()).toBe(before);
  });
});

describe('hostile bots: concurrency', () => {
  it('keeps concurrent in-process hooks apart when some of them exhaust memory', async () => {
    const bomb = bot(`new ArrayBuffer(1e9);`);
    const outs = await Promise.all(
      [bomb, healthy, bomb, healthy, healthy, bomb, healthy].map((source) =>
        runBotHookInProcess(input(source)),
      ),
    );
    expect(outs.map((o) => o.error?.code ?? o.posts.length)).toEqual([
      'ERR_BOT_MEMORY',
      1,
      'ERR_BOT_MEMORY',
      1,
      1,
      'ERR_BOT_MEMORY',
      1,
    ]);
  });
});

describe('hostile bots: reaching the host', () => {
  it('finds no process, require, fetch, timers, WebAssembly or module loader', async () => {
    const out = await runBotHook(
      input(
        bot(`
const g = Function('return this')();
const names = ['process', 'require', 'module', 'fetch', 'setTimeout', 'setInterval', 'queueMicrotask', 'XMLHttpRequest',
  'WebAssembly', 'std', 'os', 'Deno', 'Bun', 'global', 'Buffer', 'WeakRef', 'FinalizationRegistry'];
const seen = {};
for (const n of names) seen[n] = typeof g[n];
ctx.post('bot', { seen, same: g === globalThis, keys: Object.getOwnPropertyNames(g).filter((k) => /^__|host/i.test(k)) });
import('node:fs').then(() => ctx.post('bot', { imported: true }), (e) => ctx.post('bot', { importError: e.name }));`),
      ),
    );
    expect(out.error).toBeUndefined();
    const [first, second] = out.posts;
    const seen = (first?.body as { seen: Record<string, string> }).seen;
    for (const value of Object.values(seen)) expect(value).toBe('undefined');
    expect(first?.body).toMatchObject({ same: true, keys: [] });
    expect(second?.body).toEqual({ importError: 'ReferenceError' });
  });

  it('cannot climb from ctx functions to host objects', async () => {
    const out = await runBotHook(
      input(
        bot(`
const F = ctx.post.constructor;
let viaCtor;
try { viaCtor = F('return typeof process')(); } catch (e) { viaCtor = 'threw ' + e.name; }
ctx.post('bot', { viaCtor, ctor: F === Function, proto: Object.getPrototypeOf(ctx) === Object.prototype, frozen: Object.isFrozen(ctx) });`),
      ),
    );
    expect(out.error).toBeUndefined();
    expect(out.posts[0]?.body).toEqual({ viaCtor: 'undefined', ctor: true, proto: true, frozen: true });
  });

  it('rejects import statements as ERR_BOT_SOURCE', async () => {
    const out = await runBotHook(input(`import fs from 'node:fs';\nexport default class A {}`));
    expect(out.error?.code).toBe('ERR_BOT_SOURCE');
  });

  it('keeps the bridge intact when the bot pollutes prototypes and JSON', async () => {
    const out = await runBotHook(
      input(
        bot(`
JSON.stringify = () => '{"forged":true}';
JSON.parse = () => ({ forged: true });
String = () => 'forged';
Reflect.apply = () => { throw new Error('forged'); };
Array.prototype.push = () => 0;
ctx.post('bot', { real: 1, state: ctx.getState() });
ctx.post('bot', JSON.parse('{"__proto__": {"polluted": true}}'));`),
        { state: { s: 1 } },
      ),
    );
    expect(out.error).toBeUndefined();
    expect(out.posts[0]).toEqual({ kind: 'bot', body: { real: 1, state: { s: 1 } } });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('copies posts and state out by own properties only: poisoned prototypes and toJSON change nothing', async () => {
    const poisoned = bot(`
Object.prototype.toJSON = function () { return { forged: 'toJSON' }; };
Array.prototype.toJSON = function () { return 'forged array'; };
String.prototype.toJSON = function () { return 'forged string'; };
Object.prototype.inherited = 'forged';
Object.defineProperty(Object.prototype, 'length', { get() { return 3; }, configurable: true });
Array.isArray = () => false;
Reflect.get = () => 'forged';
Object.keys = () => ['forged'];
ctx.setState({ s: [1, 'two'] });
ctx.post('bot', { a: 1, list: [1, 'two', null], nested: { b: true }, skip: undefined });
ctx.post('bot', JSON.parse('{"__proto__": {"polluted": true}}'));
ctx.post('bot', { n: -0, inf: Infinity, nan: NaN, holes: [, 1], gone: undefined });`);
    for (const out of [await runBotHook(input(poisoned)), await runBotHookInProcess(input(poisoned))]) {
      expect(out.error).toBeUndefined();
      expect(out.state).toEqual({ s: [1, 'two'] });
      expect(JSON.stringify(out.posts)).toBe(
        JSON.stringify([
          { kind: 'bot', body: { a: 1, list: [1, 'two', null], nested: { b: true } } },
          { kind: 'bot', body: JSON.parse('{"__proto__": {"polluted": true}}') as unknown },
          { kind: 'bot', body: { n: 0, inf: null, nan: null, holes: [null, 1] } },
        ]),
      );
      const second = out.posts[1]!.body as object;
      expect(Object.getPrototypeOf(second)).toBe(Object.prototype);
      expect(Object.keys(second)).toEqual(['__proto__']);
    }
    expect(Object.prototype).not.toHaveProperty('polluted');
    await expectHealthy();
  });

  it("throws a getter's own error from ctx.post unchanged (catchable); a getter that exhausts memory is ERR_BOT_MEMORY", async () => {
    const caught = await runBotHook(
      input(
        bot(`
try { ctx.post('bot', { get a() { throw new RangeError('mine'); } }); } catch (e) { ctx.post('bot', { caught: e.name + ' ' + e.message }); }
try { ctx.setState(new Proxy({}, { ownKeys() { throw 'trap'; } })); } catch (e) { ctx.post('bot', { caught: e }); }`),
      ),
    );
    expect(caught.error).toBeUndefined();
    expect(caught.posts.map((p) => p.body)).toEqual([{ caught: 'RangeError mine' }, { caught: 'trap' }]);
    const bomb = await runBotHook(
      input(bot(`ctx.post('bot', { get a() { const l = []; for (;;) l.push(new Array(1e5).fill(1)); } });`), {
        limits: { memoryBytes: 16 * 1024 * 1024 },
      }),
    );
    expect(bomb.error?.code).toBe('ERR_BOT_MEMORY');
    await expectHealthy();
  });

  it('cannot replace ctx functions (ctx is frozen)', async () => {
    const out = await runBotHook(input(bot(`ctx.post = () => {}; ctx.post('bot', {});`)));
    expect(out.error?.code).toBe('ERR_BOT_THROWN');
  });
});

describe('hostile bots: throws and garbage output', () => {
  it.each([
    ['an Error', `throw new Error('boom')`, /Error: boom at bot\.js:1:/],
    ['a string', `throw 'just a string'`, /just a string/],
    ['null', `throw null`, /null thrown|object/],
    ['a rejected promise', `return Promise.reject(new TypeError('async boom'))`, /TypeError: async boom/],
  ])('reports a hook that throws %s as ERR_BOT_THROWN, its text quoted apart', async (_name, body, text) => {
    const out = await runBotHook(input(bot(body)));
    expect(out.error?.code).toBe('ERR_BOT_THROWN');
    expect(out.error?.botText).toMatch(text);
    expect(out.error?.message).toBe(thrownMessage);
  });

  it('reports a promise that never settles as ERR_BOT_THROWN', async () => {
    const out = await runBotHook(input(bot(`return new Promise(() => {})`)));
    expect(out.error?.code).toBe('ERR_BOT_THROWN');
  });

  it.each([
    ['a function in the body', `ctx.post('bot', { f() {} })`, /post body contains a function/],
    ['a cycle', `const o = {}; o.self = o; ctx.post('bot', o)`, /post body contains a cycle/],
    ['a BigInt', `ctx.post('bot', { n: 10n })`, /post body contains a bigint/],
    ['a symbol', `ctx.post('bot', { s: Symbol('x') })`, /post body contains a symbol/],
    ['a body over 16 KiB', `ctx.post('bot', { big: 'x'.repeat(17000) })`, /larger than 16384 bytes/],
    [
      'a body nested 65 deep',
      `let v = 1; for (let i = 0; i < 65; i++) v = [v]; ctx.post('bot', v)`,
      /nests deeper than 64 levels/,
    ],
    [
      'an object of 300,000 keys',
      `const o = {}; for (let i = 0; i < 3e5; i++) o['k' + i] = 1; ctx.post('bot', o)`,
      /post body larger than 16384 bytes/,
    ],
    ['more than 64 posts', `for (let i = 0; i < 65; i++) ctx.post('bot', { i })`, /more than 64 posts/],
    ['an empty kind', `ctx.post('', {})`, /kind must be/],
    ['a 65-character kind', `ctx.post('k'.repeat(65), {})`, /kind must be/],
    ['a non-string kind', `ctx.post({ toString() { return 'bot' } }, {})`, /kind must be/],
    ['a reserved kind', `ctx.post('fairness:reveal', {})`, /reserved for the server/],
    ['a function as state', `ctx.setState(() => 1)`, /state contains a function/],
    ['a state over 1 MiB', `ctx.setState({ big: 'x'.repeat(1100000) })`, /state larger than/],
  ])("reports %s, let escape, as ERR_BOT_OUTPUT in the server's words", async (_name, body, message) => {
    const out = await runBotHook(input(bot(body)));
    expect(out.error?.code).toBe('ERR_BOT_OUTPUT');
    expect(out.error?.message).toMatch(message);
    expect(out.error?.botText).toBeUndefined();
    expect(out.posts).toEqual([]);
  });

  it('throws a refused ctx.post or ctx.setState at the call, so a bot that catches it carries on', async () => {
    const out = await runBotHook(
      input(
        bot(`
const seen = [];
for (const attempt of [
  () => ctx.post('bot', { f() {} }),
  () => ctx.post('system', { text: 'forged' }),
  () => ctx.post('bot', 'x'.repeat(17000)),
  () => ctx.setState({ f() {} }),
]) {
  try { attempt(); seen.push('accepted'); } catch (e) { seen.push(e.name + ': ' + e.message); }
}
ctx.setState({ ok: true });
ctx.post('bot', { seen });`),
      ),
    );
    expect(out.error).toBeUndefined();
    expect(out.state).toEqual({ ok: true });
    expect(out.posts).toEqual([
      {
        kind: 'bot',
        body: {
          seen: [
            'BotApiError: post body contains a function',
            expect.stringMatching(/^BotApiError: post kind is reserved for the server/) as unknown,
            'BotApiError: post body larger than 16384 bytes of JSON',
            'BotApiError: state contains a function',
          ],
        },
      },
    ]);
  });

  it('reports bad randomInt arguments as a throw', async () => {
    const out = await runBotHook(input(bot(`ctx.randomInt(0)`)));
    expect(out.error?.code).toBe('ERR_BOT_THROWN');
    expect(out.error?.botText).toMatch(/randomInt/);
  });
});

describe('hostile bots: bad source', () => {
  it.each([
    ['a syntax error', `class A {`],
    ['no class at all', `const x = 1;`],
    ['an empty source', `   `],
    ['a default export that is not a class', `export default 42;`],
  ])('reports %s as ERR_BOT_SOURCE', async (_name, source) => {
    const out = await runBotHook(input(source));
    expect(out.error?.code).toBe('ERR_BOT_SOURCE');
  });

  it('reports top-level code that throws as ERR_BOT_THROWN', async () => {
    const out = await runBotHook(input(`throw new Error('at load')\nclass A {}`));
    expect(out.error?.code).toBe('ERR_BOT_THROWN');
  });
});

describe('determinism', () => {
  it('returns identical output for the same input, whatever the bot reads', async () => {
    const source = bot(`
const a = []; for (let i = 0; i < 5; i++) a.push(Math.random(), ctx.random(), ctx.randomInt(1000));
ctx.setState({ a, t: Date.now(), d: String(new Date()), h: ctx.sha256(String(a[0])) });
ctx.post('bot', { a, order: Object.keys({ b: 1, a: 2, 1: 3 }) });`);
    const first = await runBotHook(input(source));
    const second = await runBotHook(input(source));
    expect(first.error).toBeUndefined();
    expect(second).toEqual(first);
    const other = await runBotHook(input(source, { randomKey: 'd4'.repeat(32) }));
    expect(other.posts).not.toEqual(first.posts);
  });
});
