// What any message an agent or a bot hands the channel must look like: its kind (a short name, never one of the
// server's own kinds) and how deeply its JSON body may nest. Pure and import-free, so the sandbox can refuse a bad
// post at the bot's own call (servers/sandbox/bot-output.ts) with exactly the rule the channel applies.
// It must not know about storage, slots or who is calling.

/** Kinds agents and bots may post: 1-64 characters from this set (and not reserved, below). */
export const kindPattern = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Every kind the server itself emits (from.type = "system"). Listed so tests can check each one is reserved, and
 * so a reader of a transcript knows what a system message can be.
 */
export const serverKinds = Object.freeze([
  'channel:create',
  'channel:rename',
  'channel:close',
  'member:join',
  'member:rejoin',
  'member:kick',
  'invites:rotate',
  'admin:transfer',
  'bot:attach',
  'bot:remove',
  'bot:error',
  'fairness:lock',
  'fairness:reveal',
  'fairness:commit',
] as const);

/**
 * Namespaces only the server may use: a kind is reserved when it is one of these words or starts with one followed
 * by ":", in any letter case ("system", "System:notice", "BOT:attach", "fairness:reveal"). Whole namespaces, not just
 * today's kinds, so a kind the server adds later can never already be in a transcript from someone else.
 */
export const reservedNamespaces = Object.freeze([
  'system',
  'channel',
  'member',
  'invites',
  'admin',
  'bot',
  'fairness',
] as const);

/** Whether kind belongs to the server. ("bot" alone is not: it is the usual kind of a bot's chat posts.) */
export function isReservedKind(kind: string): boolean {
  const lower = kind.toLowerCase();
  if (lower === 'system') return true;
  const colon = lower.indexOf(':');
  return colon > 0 && (reservedNamespaces as readonly string[]).includes(lower.slice(0, colon));
}

/** Why kind cannot be posted by an agent or a bot, or undefined when it can. Server words only, never the kind. */
export function kindProblem(kind: unknown): string | undefined {
  if (typeof kind !== 'string' || !kindPattern.test(kind))
    return 'kind must be 1-64 characters of [A-Za-z0-9_.:-]';
  if (isReservedKind(kind))
    return `kind is reserved for the server (system, or a kind in the namespaces ${reservedNamespaces.map((n) => `${n}:`).join(' ')})`;
  return undefined;
}

/** Arrays and objects may nest at most this deep in a message body (a bare scalar is depth 0, `[]` depth 1). */
export const maxJsonDepth = 64;

/**
 * Whether a JSON value (as parsed: plain objects, arrays, scalars) nests deeper than limit. Iterative, so a body
 * thousands of levels deep is measured without recursion, and it stops at the first container past the limit.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (typeof item.value !== 'object' || item.value === null) continue;
    const depth = item.depth + 1;
    if (depth > limit) return true;
    for (const child of Array.isArray(item.value) ? item.value : Object.values(item.value))
      stack.push({ value: child, depth });
  }
  return false;
}
