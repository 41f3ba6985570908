// One agent's view: the name tables filtered by the policy, schemas narrowed, paged with an opaque
// cursor. Pure functions of (tables, policy, principal); cached by the gateway per agent.
import type {
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool,
} from '@modelcontextprotocol/server';
import type { NameTables } from './catalog.ts';
import { narrow, visible, type CompiledPolicy } from './policy.ts';
import type { Principal } from './types.ts';

export interface AgentView {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  templates: ResourceTemplate[];
  /** Per kind, a string that changes when the visible set changes (drives list_changed). */
  signature: { tools: string; prompts: string; resources: string };
}

export function buildView(tables: NameTables, policy: CompiledPolicy, principal: Principal): AgentView {
  const tools = tables.tools
    .filter((e) => visible(policy, principal, 'tool', e.server, e.key))
    .map((e) => ({
      ...e.item,
      name: e.key,
      inputSchema: narrow(policy, principal, e.key, e.item.inputSchema),
    }));
  const prompts = tables.prompts
    .filter((e) => visible(policy, principal, 'prompt', e.server, e.key))
    .map((e) => ({ ...e.item, name: e.key }));
  const resources = tables.resources
    .filter((e) => visible(policy, principal, 'resource', e.server, e.key))
    .map((e) => e.item);
  const templates = tables.templates
    .filter((e) => visible(policy, principal, 'resource', e.server, e.key))
    .map((e) => e.item);
  return {
    tools,
    prompts,
    resources,
    templates,
    signature: {
      tools: JSON.stringify(tools),
      prompts: JSON.stringify(prompts),
      resources: JSON.stringify([resources.map((r) => r.uri), templates.map((t) => t.uriTemplate)]),
    },
  };
}

/**
 * Pages a merged list. The cursor is opaque to clients: base64url of {v: tables version, o: offset}.
 * A cursor from an older catalog restarts at 0 rather than skipping or repeating silently.
 */
export function page<T>(
  items: readonly T[],
  cursor: string | undefined,
  pageSize: number,
  version: number,
): { items: T[]; nextCursor?: string } {
  let offset = 0;
  if (cursor !== undefined) {
    const decoded = decodeCursor(cursor);
    if (decoded === undefined) throw new RangeError('invalid cursor');
    offset = decoded.v === version ? decoded.o : 0;
  }
  const slice = items.slice(offset, offset + pageSize);
  const next = offset + pageSize;
  return next < items.length
    ? { items: slice, nextCursor: encodeCursor({ v: version, o: next }) }
    : { items: slice };
}

function encodeCursor(c: { v: number; o: number }): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(cursor: string): { v: number; o: number } | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null) {
      const { v, o } = value as { v?: unknown; o?: unknown };
      if (typeof v === 'number' && typeof o === 'number' && Number.isInteger(o) && o >= 0) return { v, o };
    }
  } catch {
    // fall through
  }
  return undefined;
}
