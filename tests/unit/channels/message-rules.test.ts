// The channel's message rules (servers/channels/message-rules.ts): which kinds belong to the server, and the JSON
// depth limit; the source files are searched for every kind the server emits, so a new one cannot be left out.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isReservedKind,
  kindProblem,
  maxJsonDepth,
  nestsDeeperThan,
  serverKinds,
} from '../../../servers/channels/message-rules.ts';

describe('message rules', () => {
  it('lists every kind the channels server emits, and each is reserved', async () => {
    const dir = join(import.meta.dirname, '../../../servers/channels');
    const emitted = new Set<string>();
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.ts'))) {
      const source = await readFile(join(dir, file), 'utf8');
      for (const match of source.matchAll(/kind: '([a-z]+:[a-z]+)'/g)) emitted.add(match[1]!);
    }
    expect(emitted.size).toBeGreaterThan(10);
    expect([...emitted].sort()).toEqual([...serverKinds].sort());
    for (const kind of serverKinds) expect(isReservedKind(kind), kind).toBe(true);
  });

  it.each([
    'system',
    'System',
    'SYSTEM:notice',
    'BOT:attach',
    'Fairness:Reveal',
    'member:promote',
    'admin:x',
  ])('reserves %s', (kind) => {
    expect(isReservedKind(kind)).toBe(true);
    expect(kindProblem(kind)).toMatch(/reserved for the server/);
  });

  it.each(['user', 'bot', 'move', 'game:over', 'game:board', 'bots:x', 'systemic', 'chat.bot:attach'])(
    'leaves %s to agents and bots',
    (kind) => {
      expect(isReservedKind(kind)).toBe(false);
      expect(kindProblem(kind)).toBeUndefined();
    },
  );

  it('refuses kinds outside the pattern with the same words, never echoing the kind', () => {
    for (const kind of ['', 'k'.repeat(65), 'a b', 'a/b', 42]) {
      expect(kindProblem(kind)).toBe('kind must be 1-64 characters of [A-Za-z0-9_.:-]');
    }
  });

  it('measures depth without recursion: a scalar is 0, each array or object one more', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i += 1) deep = i % 2 ? [deep] : { d: deep };
    expect(nestsDeeperThan(deep, maxJsonDepth)).toBe(true);
    expect(nestsDeeperThan('flat', 0)).toBe(false);
    expect(nestsDeeperThan([], 0)).toBe(true);
    expect(nestsDeeperThan([[]], 2)).toBe(false);
    expect(nestsDeeperThan({ a: [1, { b: [] }] }, 3)).toBe(true);
    expect(nestsDeeperThan({ a: [1, { b: [] }] }, 4)).toBe(false);
  });
});
