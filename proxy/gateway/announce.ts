// Who hears that a list changed. After every catalog rebuild or policy change, each agent whose visible
// list of a kind changed is told, once per change, per era (an agent may hold 2025-era sessions and a
// 2026-era handler at once, each seeing its era's face of the children). And when a child said its own
// list changed, every agent who sees any of that child's items of that kind is told even when what it sees
// looks the same (an item's behaviour may have changed): what the child says reaches whom it concerns, and
// nobody else. It must not decide visibility itself: the views and the policy do.
import type { CallerEra } from '../upstreams/index.ts';
import type { NameTables } from './catalog.ts';
import type { Endpoint } from './core.ts';
import { visible, type CompiledPolicy } from './policy.ts';
import type { Principal } from './types.ts';
import type { AgentView } from './view.ts';

export type ListKind = 'tools' | 'prompts' | 'resources';

export interface Announcer {
  /** A child said its `kind` list changed: the next announce tells whom it concerns. */
  childSaid(server: string, kind: ListKind): void;
  announce(): void;
  /** An endpoint came: remember what its agent sees now, to compare later views with. */
  registered(endpoint: Endpoint): void;
  /** An endpoint left; `remaining` are its agent's others. */
  unregistered(endpoint: Endpoint, remaining: ReadonlySet<Endpoint>): void;
}

export function createAnnouncer(deps: {
  endpoints: ReadonlyMap<string, Set<Endpoint>>;
  view: (principal: Principal, era: CallerEra) => AgentView;
  tables: (era: CallerEra) => NameTables;
  policy: () => CompiledPolicy;
}): Announcer {
  const lastSignature = new Map<string, AgentView['signature']>();
  const told = new Map<string, Set<ListKind>>();

  /** Whether `principal` sees anything of `kind` from child `id`. */
  const seesAny = (principal: Principal, era: CallerEra, id: string, kind: ListKind): boolean => {
    const t = deps.tables(era);
    const policy = deps.policy();
    if (kind === 'tools')
      return t.tools.some((e) => e.server === id && visible(policy, principal, 'tool', id, e.key));
    if (kind === 'prompts')
      return t.prompts.some((e) => e.server === id && visible(policy, principal, 'prompt', id, e.key));
    return [...t.resources, ...t.templates].some(
      (e) => e.server === id && visible(policy, principal, 'resource', id, e.key),
    );
  };

  return {
    childSaid(server, kind) {
      let kinds = told.get(server);
      if (kinds === undefined) told.set(server, (kinds = new Set()));
      kinds.add(kind);
    },
    announce() {
      const news = [...told];
      told.clear();
      for (const [agent, set] of deps.endpoints) {
        for (const era of ['legacy', 'modern'] as const) {
          const mine = [...set].filter((e) => e.era === era);
          const first = mine[0];
          if (first === undefined) continue;
          const next = deps.view(first.principal, era).signature;
          const key = `${era}\0${agent}`;
          const prev = lastSignature.get(key);
          lastSignature.set(key, next);
          if (prev === undefined) continue;
          const changed = {
            tools: prev.tools !== next.tools,
            prompts: prev.prompts !== next.prompts,
            resources: prev.resources !== next.resources,
          };
          for (const [id, kinds] of news)
            for (const kind of kinds) if (seesAny(first.principal, era, id, kind)) changed[kind] = true;
          for (const endpoint of mine) {
            if (changed.tools) endpoint.toolsChanged();
            if (changed.prompts) endpoint.promptsChanged();
            if (changed.resources) endpoint.resourcesChanged();
          }
        }
      }
    },
    registered(endpoint) {
      const key = `${endpoint.era}\0${endpoint.agent}`;
      if (!lastSignature.has(key))
        lastSignature.set(key, deps.view(endpoint.principal, endpoint.era).signature);
    },
    unregistered(endpoint, remaining) {
      if (![...remaining].some((e) => e.era === endpoint.era))
        lastSignature.delete(`${endpoint.era}\0${endpoint.agent}`);
    },
  };
}
