// Tool-definition pinning ("rug pull" protection): every tool definition a child offers is hashed and pinned the
// first time it is seen; when a child later offers a different definition under the same name, the tool is hidden
// from every agent (mode `hide`) or only flagged (`warn`) until an operator approves the new definition (console
// or `mcpcp tools approve`). The gateway calls admit() on each child catalog before building its name tables and
// rebuilds them when onChange fires. It must not know about agents, policy or HTTP.
import type { Logger } from '../../lib/log.ts';
import { McpcpError } from '../../lib/errors.ts';
import {
  definitionHash,
  diffDefinitions,
  pinnedPart,
  type DefinitionChange,
  type ToolDefinition,
} from './definition.ts';
import type { PinEvent, PinRecord, PinStore } from './store.ts';

export type PinMode = 'hide' | 'warn' | 'off';

export interface ToolPinState {
  readonly server: string;
  readonly tool: string;
  /** `changed`: the child offers a definition nobody approved. */
  readonly status: 'pinned' | 'changed';
  /** True while agents cannot see it (mode `hide` and changed). */
  readonly hidden: boolean;
  readonly approvedHash: string;
  readonly approvedAt: number;
  readonly approvedBy: string;
  readonly seenHash: string;
  readonly seenAt: number;
}

export interface ToolPinDiff {
  readonly state: ToolPinState;
  readonly approved: unknown;
  readonly seen: unknown;
  readonly changes: readonly DefinitionChange[];
}

/** The hook the gateway calls: what agents may see of one child's tools. */
export interface ToolGate {
  admit<T extends ToolDefinition>(server: string, tools: readonly T[]): T[];
  /** Fires when an approval changes what admit() returns; the gateway rebuilds its tables. */
  onChange(listener: () => void): () => void;
}

export interface ToolPins extends ToolGate {
  readonly mode: PinMode;
  list(): ToolPinState[];
  diff(server: string, tool: string): ToolPinDiff | undefined;
  history(server: string, tool: string): PinEvent[];
  /**
   * Approves the definition the child offers now. `expectedHash` (what the operator reviewed) guards against a
   * child that changed again meanwhile: ERR_CONFLICT then. ERR_NOT_FOUND for a tool never seen.
   */
  approve(
    server: string,
    tool: string,
    by: string,
    expectedHash?: string,
  ): { state: ToolPinState; approved: boolean };
  close(): void;
}

export interface ToolPinsOptions {
  store: PinStore;
  mode: PinMode;
  logger?: Logger | undefined;
  now?: () => number;
}

const key = (server: string, tool: string) => `${server}\0${tool}`;

export function createToolPins(options: ToolPinsOptions): ToolPins {
  const { store, mode } = options;
  const now = options.now ?? Date.now;
  const log = options.logger?.child({ component: 'tool-pins' });
  const records = new Map<string, PinRecord>(store.all().map((r) => [key(r.server, r.tool), r]));
  const listeners = new Set<() => void>();
  // Catalogs keep their tool objects between rebuilds: hash each object once.
  const hashes = new WeakMap<object, string>();
  const hashOf = (tool: ToolDefinition): string => {
    let hash = hashes.get(tool);
    if (hash === undefined) hashes.set(tool, (hash = definitionHash(tool)));
    return hash;
  };

  const stateOf = (r: PinRecord): ToolPinState => {
    const changed = r.seenHash !== r.approvedHash;
    return {
      server: r.server,
      tool: r.tool,
      status: changed ? 'changed' : 'pinned',
      hidden: changed && mode === 'hide',
      approvedHash: r.approvedHash,
      approvedAt: r.approvedAt,
      approvedBy: r.approvedBy,
      seenHash: r.seenHash,
      seenAt: r.seenAt,
    };
  };

  function record(server: string, tool: ToolDefinition, hash: string): PinRecord {
    const k = key(server, tool.name);
    const held = records.get(k);
    if (held !== undefined && held.seenHash === hash) return held;
    const at = now();
    const definition = JSON.stringify(pinnedPart(tool));
    const next: PinRecord =
      held === undefined
        ? {
            server,
            tool: tool.name,
            approvedHash: hash,
            approvedDefinition: definition,
            approvedAt: at,
            approvedBy: 'first-seen',
            seenHash: hash,
            seenDefinition: definition,
            seenAt: at,
          }
        : { ...held, seenHash: hash, seenDefinition: definition, seenAt: at };
    store.put(next);
    store.addEvent({
      server,
      tool: tool.name,
      event: held === undefined ? 'first-seen' : 'changed',
      hash,
      at,
    });
    records.set(k, next);
    if (held !== undefined && hash !== next.approvedHash) {
      log?.warn(
        { server, tool: tool.name, approvedHash: next.approvedHash, seenHash: hash, mode },
        mode === 'hide'
          ? 'tool definition changed since it was approved: hidden from agents until approved'
          : 'tool definition changed since it was approved (warn mode: still shown)',
      );
    }
    return next;
  }

  return {
    mode,
    admit(server, tools) {
      if (mode === 'off') return [...tools];
      return tools.filter((tool) => {
        const hash = hashOf(tool);
        const pin = record(server, tool, hash);
        return mode === 'warn' || pin.approvedHash === hash;
      });
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    list: () =>
      [...records.values()]
        .sort((a, b) => (key(a.server, a.tool) < key(b.server, b.tool) ? -1 : 1))
        .map(stateOf),
    diff(server, tool) {
      const r = records.get(key(server, tool));
      if (r === undefined) return undefined;
      const approved = JSON.parse(r.approvedDefinition) as unknown;
      const seen = JSON.parse(r.seenDefinition) as unknown;
      return { state: stateOf(r), approved, seen, changes: diffDefinitions(approved, seen) };
    },
    history: (server, tool) => store.events(server, tool),
    approve(server, tool, by, expectedHash) {
      const r = records.get(key(server, tool));
      if (r === undefined)
        throw new McpcpError('ERR_NOT_FOUND', `no tool ${tool} of server ${server} has been seen`);
      if (expectedHash !== undefined && expectedHash !== r.seenHash)
        throw new McpcpError(
          'ERR_CONFLICT',
          `the definition of ${server}/${tool} changed again (now ${r.seenHash.slice(0, 12)}…); review it again`,
        );
      if (r.approvedHash === r.seenHash) return { state: stateOf(r), approved: false };
      const at = now();
      const next: PinRecord = {
        ...r,
        approvedHash: r.seenHash,
        approvedDefinition: r.seenDefinition,
        approvedAt: at,
        approvedBy: by,
      };
      store.put(next);
      store.addEvent({ server, tool, event: 'approved', hash: r.seenHash, at, by });
      records.set(key(server, tool), next);
      log?.info({ server, tool, hash: r.seenHash, by }, 'tool definition approved');
      for (const listener of listeners) listener();
      return { state: stateOf(next), approved: true };
    },
    close: () => store.close(),
  };
}
