// A corpus of hostile bot hooks for the channels RSS benchmark (bench/channels-rss.ts): memory bombs of every
// shape, loops, a builtin the interrupt handler cannot reach, floods of legal output, and escapes. Each entry is the
// body of an onMessage hook with `ctx` in scope. It must not depend on anything but the bot API.

export interface HostileBot {
  name: string;
  body: string;
}

export const hostileCorpus: readonly HostileBot[] = [
  { name: 'array bomb', body: `const a = []; for (;;) a.push(new Array(1e5).fill(1));` },
  { name: 'string doubling', body: `let s = 'x'; for (;;) s += s;` },
  { name: 'typed arrays', body: `const l = []; for (;;) l.push(new Uint8Array(1 << 20));` },
  { name: 'one huge ArrayBuffer', body: `new ArrayBuffer(120 * 1024 * 1024);` },
  { name: 'object keys', body: `const o = {}; for (let i = 0; ; i++) o['k' + i] = i;` },
  { name: 'map entries', body: `const m = new Map(); for (let i = 0; ; i++) m.set(i, [i]);` },
  { name: 'closures', body: `const l = []; for (let i = 0; ; i++) l.push(() => i);` },
  { name: 'string repeat', body: `'x'.repeat(2 ** 28);` },
  { name: 'holey array', body: `const a = new Array(1e7); for (let i = 0; i < 1e7; i++) a[i] = i;` },
  { name: 'big BigInt', body: `let n = 2n; for (;;) n = n * n;` },
  {
    name: 'just under the heap limit',
    body: `const l = []; for (let i = 0; i < 24; i++) l.push(new Uint8Array(1 << 20).fill(1)); ctx.post('bot', { held: l.length });`,
  },
  { name: 'deep recursion', body: `function f(n) { return f(n + 1) + 1; } f(0);` },
  { name: 'infinite loop', body: `for (;;) {}` },
  { name: 'promise loop', body: `return (async () => { for (;;) await null; })();` },
  { name: 'catastrophic regex', body: `/^(a+)+$/.test('a'.repeat(40) + 'b');` },
  {
    name: 'non-interruptible sort',
    body: `const a = new Array(6e5).fill(7); for (let i = 0; i < 60; i++) a.sort();`,
  },
  { name: 'hashing big strings', body: `const s = 'x'.repeat(1 << 20); for (;;) ctx.sha256(s);` },
  {
    name: '64 posts of 16 KiB',
    body: `for (let i = 0; i < 64; i++) ctx.post('bot', { i, pad: 'x'.repeat(16000) });`,
  },
  { name: 'state of 1 MiB', body: `ctx.setState({ pad: 'x'.repeat(1000000) });` },
  {
    name: 'post flood refused',
    body: `for (;;) { try { ctx.post('bot', 'x'.repeat(20000)); } catch (e) {} }`,
  },
  { name: 'huge thrown message', body: `throw new Error('x'.repeat(1 << 24));` },
  { name: 'deep JSON', body: `let v = 1; for (let i = 0; i < 100000; i++) v = [v]; ctx.post('bot', v);` },
  {
    name: 'getter bomb in a post',
    body: `ctx.post('bot', { get a() { const l = []; for (;;) l.push(new Array(1e5)); } });`,
  },
  {
    name: 'proxy chain',
    body: `let p = {}; for (let i = 0; i < 1e6; i++) p = new Proxy(p, {}); ctx.post('bot', p);`,
  },
  {
    name: 'prototype pollution',
    body: `Object.prototype.toJSON = () => ({ forged: true }); ctx.post('bot', { real: true });`,
  },
  { name: 'json parse bomb', body: `JSON.parse('[' .repeat(1e6));` },
];
