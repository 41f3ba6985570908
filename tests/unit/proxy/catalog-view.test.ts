import type { Tool } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../../auth/policy.ts';
import { parseConfig } from '../../../config/load.ts';
import { buildTables, routeResource, type ChildCatalog } from '../../../proxy/gateway/catalog.ts';
import { buildView, page } from '../../../proxy/gateway/view.ts';

const tool = (name: string): Tool => ({
  name,
  inputSchema: { type: 'object', properties: { message: { type: 'string' } } },
});
const catalog = (tools: string[], extra: Partial<ChildCatalog> = {}): ChildCatalog => ({
  generation: 1,
  tools: tools.map(tool),
  prompts: [],
  resources: [],
  templates: [],
  ...extra,
});
const servers = [
  { id: 'a', namespace: 'a' },
  { id: 'ab', namespace: 'a_b' },
];
const principal = (agent: string) => ({ agent, scopes: [], claims: {}, expiresAt: 0 });

describe('name tables', () => {
  it('merges in config order and lets the later server lose a collision', () => {
    const tables = buildTables(
      servers,
      new Map([
        ['ab', catalog(['x'])],
        ['a', catalog(['b_x', 'echo'])],
      ]),
      1,
      undefined,
    );
    expect(tables.tools.map((t) => [t.key, t.server, t.original])).toEqual([
      ['a_b_x', 'a', 'b_x'],
      ['a_echo', 'a', 'echo'],
    ]);
  });

  it('routes resources by exact URI first, then by template', () => {
    const tables = buildTables(
      servers,
      new Map([
        ['a', catalog([], { resources: [{ uri: 'file:///one', name: 'one' }] })],
        ['ab', catalog([], { templates: [{ uriTemplate: 'file:///items/{id}', name: 'item' }] })],
      ]),
      1,
      undefined,
    );
    expect(routeResource(tables, 'file:///one')).toEqual({ server: 'a' });
    expect(routeResource(tables, 'file:///items/42')).toEqual({ server: 'ab' });
    expect(routeResource(tables, 'file:///nowhere')).toBeUndefined();
  });
});

describe('agent views', () => {
  const config = parseConfig(
    `
servers:
  - { id: a, transport: stdio, command: x }
  - { id: ab, namespace: a_b, transport: stdio, command: x }
policy:
  rules:
    - id: r
      subjects: [alice]
      servers: [a]
      allow: ['a_*']
      deny: ['a_secret']
      arguments:
        a_echo: { message: { maxLength: 3 } }
`,
    'view.yaml',
  );
  const tables = buildTables(
    servers,
    new Map([
      ['a', catalog(['echo', 'secret'])],
      ['ab', catalog(['x'])],
    ]),
    1,
    undefined,
  );

  it('filters by the policy and narrows advertised schemas', () => {
    const view = buildView(tables, compilePolicy(config), principal('alice'));
    expect(view.tools.map((t) => t.name)).toEqual(['a_echo']);
    expect(view.tools[0]!.inputSchema).toMatchObject({
      properties: { message: { maxLength: 3 } },
      required: ['message'],
    });
  });

  it('shows nothing to an agent no rule covers', () => {
    expect(buildView(tables, compilePolicy(config), principal('eve')).tools).toEqual([]);
  });
});

describe('paging', () => {
  const items = Array.from({ length: 7 }, (_, i) => i);
  it('walks all items in order with opaque cursors', () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const p = page(items, cursor, 3, 5);
      seen.push(...p.items);
      cursor = p.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(items);
  });

  it('restarts from the beginning when the catalog changed since the cursor was issued', () => {
    const next = page(items, undefined, 3, 5).nextCursor;
    expect(page(items, next, 3, 6).items).toEqual([0, 1, 2]);
  });

  it('rejects a cursor it did not issue', () => {
    expect(() => page(items, 'garbage', 3, 5)).toThrow(RangeError);
  });
});
