// The bot API as a bot author sees it: class forms, ctx functions, state, randomness, clock and hook atomicity.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runBotHook } from '../../../servers/sandbox/bot-host.ts';
import type { BotHookInput } from '../../../servers/sandbox/bot-host.ts';
import { createRandomStream } from '../../../servers/sandbox/random-stream.ts';

const KEY = '5a'.repeat(32);
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

function input(source: string, extra: Partial<BotHookInput> = {}): BotHookInput {
  return {
    source,
    params: null,
    hook: 'init',
    event: null,
    state: null,
    randomKey: KEY,
    randomCounter: 0,
    now: NOW,
    ...extra,
  };
}

describe('runBotHook: finding the bot', () => {
  it('runs a seed-like class with snake_case hooks and get_state/set_state', async () => {
    const source = `
class CounterBot {
  constructor(ctx, params) { this.ctx = ctx; this.step = params.step; }
  on_init() { this.ctx.set_state({ n: 0 }); this.ctx.post('status', { text: 'ready' }); }
  on_message(msg) {
    const s = this.ctx.get_state();
    s.n += this.step;
    this.ctx.set_state(s);
    this.ctx.post('bot', { n: s.n, echo: msg.body });
  }
}`;
    const init = await runBotHook(input(source, { params: { step: 2 } }));
    expect(init.error).toBeUndefined();
    expect(init.posts).toEqual([{ kind: 'status', body: { text: 'ready' } }]);
    expect(init.state).toEqual({ n: 0 });
    expect(init.stateChanged).toBe(true);
    const msg = await runBotHook(
      input(source, {
        params: { step: 2 },
        hook: 'message',
        state: init.state,
        event: { slot: 's1', kind: 'user', body: 'hi' },
      }),
    );
    expect(msg.posts).toEqual([{ kind: 'bot', body: { n: 2, echo: 'hi' } }]);
    expect(msg.state).toEqual({ n: 2 });
  });

  it('accepts `export default class` modules', async () => {
    const out = await runBotHook(
      input(
        `export default class B { constructor(ctx) { this.ctx = ctx } onJoin(e) { this.ctx.post('bot', { hi: e.slot }) } }`,
        {
          hook: 'join',
          event: { slot: 's2' },
        },
      ),
    );
    expect(out.posts).toEqual([{ kind: 'bot', body: { hi: 's2' } }]);
  });

  it('prefers globalThis.Bot, else the last declared class', async () => {
    const last = await runBotHook(
      input(`class Helper { onInit() { throw new Error('wrong class') } }
class Main { constructor(ctx) { this.ctx = ctx } onInit() { this.ctx.post('bot', { who: 'main' }) } }`),
    );
    expect(last.posts).toEqual([{ kind: 'bot', body: { who: 'main' } }]);
    const assigned = await runBotHook(
      input(`globalThis.Bot = class { constructor(ctx) { this.ctx = ctx } onInit() { this.ctx.post('bot', { who: 'global' }) } }
class Other { onInit() { throw new Error('wrong class') } }`),
    );
    expect(assigned.posts).toEqual([{ kind: 'bot', body: { who: 'global' } }]);
  });

  it('treats a missing hook method as a no-op', async () => {
    const out = await runBotHook(
      input(`class Quiet { onMessage() {} }`, { hook: 'join', state: { keep: 1 } }),
    );
    expect(out).toEqual({ posts: [], state: { keep: 1 }, stateChanged: false, randomCounter: 0 });
  });

  it('awaits async hooks and promise jobs', async () => {
    const out = await runBotHook(
      input(`class A { constructor(ctx) { this.ctx = ctx }
  async onInit() { await null; this.ctx.post('bot', { step: 1 }); Promise.resolve().then(() => this.ctx.post('bot', { step: 2 })); } }`),
    );
    expect(out.error).toBeUndefined();
    expect(out.posts.map((p) => p.body)).toEqual([{ step: 1 }, { step: 2 }]);
  });
});

describe('runBotHook: ctx functions', () => {
  it('draws ctx.random, ctx.randomInt and Math.random from the keyed stream and returns the next counter', async () => {
    const out = await runBotHook(
      input(
        `class R { constructor(ctx) { this.ctx = ctx } onInit() {
  this.ctx.post('bot', { a: this.ctx.random(), b: this.ctx.randomInt(52), c: Math.random() }) } }`,
        { randomCounter: 7 },
      ),
    );
    const s = createRandomStream(KEY, 7);
    expect(out.posts[0]?.body).toEqual({ a: s.random(), b: s.randomInt(52), c: s.random() });
    expect(out.randomCounter).toBe(s.counter);
  });

  it('replaces Date with the virtual clock of the event', async () => {
    const out = await runBotHook(
      input(`class C { constructor(ctx) { this.ctx = ctx } onInit() {
  this.ctx.post('bot', { now: this.ctx.now(), date: Date.now(), iso: new Date().toISOString(), fixed: new Date(0).getTime(),
    isDate: new Date() instanceof Date }) } }`),
    );
    expect(out.posts[0]?.body).toEqual({
      now: NOW,
      date: NOW,
      iso: new Date(NOW).toISOString(),
      fixed: 0,
      isDate: true,
    });
  });

  it('treats local time as UTC so replays agree across time zones', async () => {
    const out = await runBotHook(
      input(`class Z { constructor(ctx) { this.ctx = ctx } onInit() {
  const d = new Date(2020, 0, 2, 3, 4, 5);
  this.ctx.post('bot', { t: d.getTime(), h: d.getHours(), off: d.getTimezoneOffset(), s: String(new Date(0)),
    call: Date(), day: new Date(0).toDateString() }) } }`),
    );
    expect(out.posts[0]?.body).toEqual({
      t: Date.UTC(2020, 0, 2, 3, 4, 5),
      h: 3,
      off: 0,
      s: 'Thu, 01 Jan 1970 00:00:00 GMT',
      call: new Date(NOW).toUTCString(),
      day: '1970-01-01',
    });
  });

  it('computes sha256 and hmac as hex over UTF-8 strings', async () => {
    const out = await runBotHook(
      input(`class H { constructor(ctx) { this.ctx = ctx } onInit() {
  this.ctx.post('bot', { h: this.ctx.sha256('42:salt'), m: this.ctx.hmac('key', 'msg ✓') }) } }`),
    );
    expect(out.posts[0]?.body).toEqual({
      h: createHash('sha256').update('42:salt').digest('hex'),
      m: createHmac('sha256', 'key').update('msg ✓').digest('hex'),
    });
  });

  it('returns ctx.log lines outside the transcript', async () => {
    const out = await runBotHook(
      input(
        `class L { constructor(ctx) { this.ctx = ctx } onInit() { this.ctx.log('state', { a: 1 }, 2) } }`,
      ),
    );
    expect(out.posts).toEqual([]);
    expect(out.logs).toEqual(['state {"a":1} 2']);
  });

  it('gives each hook a fresh instance and global scope', async () => {
    const source = `globalThis.hits = (globalThis.hits || 0) + 1;
class F { constructor(ctx) { this.ctx = ctx } onInit() { this.ctx.post('bot', { hits: globalThis.hits }) } }`;
    const a = await runBotHook(input(source));
    const b = await runBotHook(input(source));
    expect(a.posts[0]?.body).toEqual({ hits: 1 });
    expect(b.posts[0]?.body).toEqual({ hits: 1 });
  });

  it('applies nothing from a failed hook (posts, state and counter stay as before)', async () => {
    const out = await runBotHook(
      input(
        `class X { constructor(ctx) { this.ctx = ctx } onInit() {
  this.ctx.post('bot', {}); this.ctx.setState({ changed: true }); this.ctx.random(); throw new Error('late') } }`,
        { state: { before: true }, randomCounter: 3 },
      ),
    );
    expect(out).toMatchObject({ posts: [], state: { before: true }, stateChanged: false, randomCounter: 3 });
    expect(out.error?.code).toBe('ERR_BOT_THROWN');
  });
});
