// The JavaScript that runs INSIDE the sandbox before the bot's source: it builds the bot's `ctx` over the host
// functions, swaps Date/Math.random for the virtual clock and the seeded stream, and returns the hook driver.
// It must not trust anything the bot can reach later: it captures the primordials it needs before bot code runs,
// and the host reads posts and state itself (bot-copy-out.ts) and validates every value.
export const botPrelude = String.raw`(function (host) {
  'use strict';
  const G = globalThis;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const freeze = Object.freeze;
  const defineProperty = Object.defineProperty;
  const construct = Reflect.construct;
  const apply = Reflect.apply;
  const StringCtor = String;
  const RealDate = G.Date;
  const h = {
    post: host.post, getState: host.getState, setState: host.setState, random: host.random,
    randomInt: host.randomInt, now: host.now, sha256: host.sha256, hmac: host.hmac, log: host.log,
  };
  const call = (fn, ...args) => apply(fn, undefined, args);
  const check = (r) => {
    if (typeof r === 'object' && r !== null) throw r;
    return r;
  };
  const show = (v) => {
    if (typeof v === 'string') return v;
    try { return StringCtor(call(stringify, v)); } catch (e) { return '[unserialisable]'; }
  };
  const ctx = {
    // Bodies and state go to the host as they are; the host copies them out (bot-copy-out.ts), never JSON here.
    post(kind, body) { check(call(h.post, kind, body)); },
    getState() { return call(parse, call(h.getState)); },
    setState(state) { check(call(h.setState, state)); },
    random() { return call(h.random); },
    randomInt(n) { return check(call(h.randomInt, n)); },
    now() { return call(h.now); },
    sha256(text) { return call(h.sha256, StringCtor(text)); },
    hmac(key, message) { return call(h.hmac, StringCtor(key), StringCtor(message)); },
    log(...parts) { let s = ''; for (let i = 0; i < parts.length; i++) s += (i ? ' ' : '') + show(parts[i]); call(h.log, s); },
  };
  ctx.get_state = ctx.getState;
  ctx.set_state = ctx.setState;
  ctx.random_int = ctx.randomInt;
  freeze(ctx);

  // Virtual clock and seeded randomness: replays of the same hook see the same values.
  // Local time is UTC everywhere, so a replay on a machine in another time zone sees the same values.
  const UTC = RealDate.UTC;
  const proto = RealDate.prototype;
  function Date(...args) {
    if (new.target === undefined) return apply(proto.toUTCString, construct(RealDate, [call(h.now)]), []);
    if (args.length === 0) return construct(RealDate, [call(h.now)], new.target);
    if (args.length === 1) return construct(RealDate, args, new.target);
    return construct(RealDate, [apply(UTC, undefined, args)], new.target);
  }
  Date.prototype = proto;
  for (const unit of ['FullYear', 'Month', 'Date', 'Day', 'Hours', 'Minutes', 'Seconds', 'Milliseconds']) {
    defineProperty(proto, 'get' + unit, { value: proto['getUTC' + unit], writable: true, configurable: true });
    if (unit !== 'Day') defineProperty(proto, 'set' + unit, { value: proto['setUTC' + unit], writable: true, configurable: true });
  }
  defineProperty(proto, 'getTimezoneOffset', { value: function getTimezoneOffset() { return 0; }, writable: true, configurable: true });
  for (const name of ['toString', 'toLocaleString']) defineProperty(proto, name, { value: proto.toUTCString, writable: true, configurable: true });
  for (const name of ['toDateString', 'toLocaleDateString']) {
    defineProperty(proto, name, { value: function () { return apply(proto.toISOString, this, []).slice(0, 10); }, writable: true, configurable: true });
  }
  for (const name of ['toTimeString', 'toLocaleTimeString']) {
    defineProperty(proto, name, { value: function () { return apply(proto.toISOString, this, []).slice(11, 19) + ' GMT'; }, writable: true, configurable: true });
  }
  Date.now = function now() { return call(h.now); };
  Date.parse = RealDate.parse;
  Date.UTC = RealDate.UTC;
  defineProperty(RealDate.prototype, 'constructor', { value: Date, writable: true, configurable: true });
  defineProperty(G, 'Date', { value: Date, writable: true, configurable: true });
  defineProperty(Math, 'random', { value: function random() { return call(h.random); }, writable: true, configurable: true });
  // Garbage-collection timing must not leak into results.
  delete G.WeakRef;
  delete G.FinalizationRegistry;

  const hookMethods = { init: ['onInit', 'on_init'], join: ['onJoin', 'on_join'], message: ['onMessage', 'on_message'] };
  return function runHook(Bot, hook, paramsJson, eventJson) {
    const params = call(parse, paramsJson);
    const event = call(parse, eventJson);
    const bot = new Bot(ctx, params);
    const names = hookMethods[hook];
    let method = bot[names[0]];
    if (typeof method !== 'function') method = bot[names[1]];
    if (typeof method !== 'function') return undefined;
    return apply(method, bot, [event]);
  };
})`;
