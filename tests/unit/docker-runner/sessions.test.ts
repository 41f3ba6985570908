import { describe, expect, it } from 'vitest';
import { dueSessions, SessionTable, type Session } from '../../../servers/docker-runner/sessions.ts';

const limits = { idleMs: 1_000, maxLifeMs: 10_000, perAgent: 2, total: 3 };
const session = (id: string, agent: string, startedAt: number, lastUsedAt: number, busy = 0): Session => ({
  id,
  agent,
  image: 'busybox',
  containerId: `c-${id}`,
  startedAt,
  lastUsedAt,
  busy,
});

describe('sessions', () => {
  it('are due when idle (and not busy) or past their maximum life, at an explicit now', () => {
    const all = [
      session('fresh', 'a', 1, 9_500),
      session('idle', 'a', 1, 8_000),
      session('busy-idle', 'a', 1, 8_000, 1),
      session('old-busy', 'b', 0, 9_900, 1),
    ];
    expect(dueSessions(all, 10_000, limits).map((d) => [d.session.id, d.reason])).toEqual([
      ['idle', 'idle'],
      ['old-busy', 'max_life'],
    ]);
    expect(dueSessions(all, 8_500, limits)).toEqual([]);
  });

  it("belong to their agent: another agent's id is not found, like an unknown one", () => {
    const table = new SessionTable(limits);
    table.add(session('s1', 'alice', 0, 0));
    expect(table.owned('alice', 's1').id).toBe('s1');
    for (const [agent, id] of [
      ['bob', 's1'],
      ['alice', 's2'],
    ])
      expect(() => table.owned(agent!, id!)).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_NOT_FOUND' }),
      );
    expect(table.forAgent('bob')).toEqual([]);
  });

  it('caps sessions per agent and in total', () => {
    const table = new SessionTable(limits);
    table.add(session('1', 'alice', 0, 0));
    table.add(session('2', 'alice', 0, 0));
    expect(() => table.checkRoom('alice')).toThrow(expect.objectContaining({ code: 'ERR_LIMIT' }));
    table.checkRoom('bob');
    table.add(session('3', 'bob', 0, 0));
    expect(() => table.checkRoom('carol')).toThrow(expect.objectContaining({ code: 'ERR_LIMIT' }));
    expect(table.take('3')?.id).toBe('3');
    expect(table.take('3')).toBeUndefined();
    table.checkRoom('carol');
  });
});
