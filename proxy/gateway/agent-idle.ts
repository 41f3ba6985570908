// When an agent has gone: no live 2025-era session, no open 2026-era listen stream and no request in
// flight, for `idleMs`. What the proxy keeps for that agent alone is then let go (its own sessions with
// the children, its 2026-era handler, its cached views), so a proxy that has served many agents over
// weeks holds state only for those still around. The agent's next request opens what it needs again.
// Holders say when an agent is busy; this module only counts and sweeps.

export interface AgentIdle {
  /** Marks the agent busy until the returned function is called (calling it again does nothing). */
  hold: (agent: string) => () => void;
  /** Lets go of every agent idle for `idleMs` by `now` (the sweeper calls it). */
  sweep: (now?: number) => void;
  /** Agents known (busy, or idle for less than `idleMs`). */
  size: () => number;
  close: () => void;
}

export interface AgentIdleOptions {
  idleMs: number;
  onIdle: (agent: string) => void;
  now?: () => number;
  /** How often the sweeper runs (default: idleMs, at most a minute); 0 leaves sweeping to the caller. */
  sweepEveryMs?: number;
}

interface Activity {
  holds: number;
  /** When the last hold ended. */
  since: number;
}

export function createAgentIdle(options: AgentIdleOptions): AgentIdle {
  if (!(options.idleMs > 0)) throw new RangeError('idleMs must be positive');
  const now = options.now ?? Date.now;
  const agents = new Map<string, Activity>();

  const sweep = (at = now()): void => {
    for (const [agent, activity] of agents) {
      if (activity.holds > 0 || at - activity.since < options.idleMs) continue;
      agents.delete(agent);
      options.onIdle(agent);
    }
  };

  const every = options.sweepEveryMs ?? Math.min(60_000, options.idleMs);
  const timer = every > 0 ? setInterval(() => sweep(), every) : undefined;
  timer?.unref();

  return {
    hold(agent) {
      let activity = agents.get(agent);
      if (activity === undefined) agents.set(agent, (activity = { holds: 0, since: 0 }));
      const held = activity;
      held.holds += 1;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        held.holds -= 1;
        if (held.holds === 0) held.since = now();
      };
    },
    sweep,
    size: () => agents.size,
    close() {
      if (timer !== undefined) clearInterval(timer);
      agents.clear();
    },
  };
}
