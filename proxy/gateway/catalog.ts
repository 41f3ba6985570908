// The name tables: what every ready child offers, merged in config order under qualified names.
// Built once per catalog change (not per request); per-agent filtering happens in view.ts.
// Collisions are reported in the log and the later child loses, deterministically.
import {
  UriTemplate,
  type Prompt,
  type Resource,
  type ResourceTemplateType as ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/server';
import type { Logger } from '../../lib/log.ts';
import { qualifyName } from '../names.ts';

export interface ChildCatalog {
  generation: number;
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  templates: ResourceTemplate[];
}

export interface Entry<T> {
  /** The exposed name (tools, prompts) or URI (resources, templates). */
  key: string;
  server: string;
  /** The child's own name or URI, sent upstream. */
  original: string;
  item: T;
}

export interface NameTables {
  version: number;
  tools: Entry<Tool>[];
  prompts: Entry<Prompt>[];
  resources: Entry<Resource>[];
  templates: Entry<ResourceTemplate>[];
  tool: ReadonlyMap<string, Entry<Tool>>;
  prompt: ReadonlyMap<string, Entry<Prompt>>;
  resource: ReadonlyMap<string, Entry<Resource>>;
  template: ReadonlyMap<string, Entry<ResourceTemplate>>;
  matchers: ReadonlyArray<{ template: UriTemplate; entry: Entry<ResourceTemplate> }>;
}

export interface ServerRef {
  id: string;
  namespace: string;
}

export function emptyTables(): NameTables {
  return buildTables([], new Map(), 0, undefined);
}

/** Merges child catalogs in config order. `reported` remembers collisions already logged. */
export function buildTables(
  servers: readonly ServerRef[],
  catalogs: ReadonlyMap<string, ChildCatalog>,
  version: number,
  logger: Logger | undefined,
  reported: Set<string> = new Set(),
): NameTables {
  const tools = new Map<string, Entry<Tool>>();
  const prompts = new Map<string, Entry<Prompt>>();
  const resources = new Map<string, Entry<Resource>>();
  const templates = new Map<string, Entry<ResourceTemplate>>();
  const add = <T>(kind: string, table: Map<string, Entry<T>>, entry: Entry<T>): void => {
    const existing = table.get(entry.key);
    if (existing === undefined) {
      table.set(entry.key, entry);
      return;
    }
    const id = `${kind}\0${entry.key}\0${existing.server}\0${existing.original}\0${entry.server}\0${entry.original}`;
    if (!reported.has(id)) {
      reported.add(id);
      logger?.warn(
        {
          code: 'ERR_NAME_COLLISION',
          kind,
          name: entry.key,
          kept: { server: existing.server, name: existing.original },
          dropped: { server: entry.server, name: entry.original },
        },
        'name collision: the later server loses',
      );
    }
  };
  for (const server of servers) {
    const catalog = catalogs.get(server.id);
    if (catalog === undefined) continue;
    for (const tool of catalog.tools) {
      add('tool', tools, {
        key: qualifyName(server.namespace, tool.name),
        server: server.id,
        original: tool.name,
        item: tool,
      });
    }
    for (const prompt of catalog.prompts) {
      add('prompt', prompts, {
        key: qualifyName(server.namespace, prompt.name),
        server: server.id,
        original: prompt.name,
        item: prompt,
      });
    }
    for (const resource of catalog.resources) {
      add('resource', resources, {
        key: resource.uri,
        server: server.id,
        original: resource.uri,
        item: resource,
      });
    }
    for (const template of catalog.templates) {
      add('template', templates, {
        key: template.uriTemplate,
        server: server.id,
        original: template.uriTemplate,
        item: template,
      });
    }
  }
  const matchers: Array<{ template: UriTemplate; entry: Entry<ResourceTemplate> }> = [];
  for (const entry of templates.values()) {
    try {
      matchers.push({ template: new UriTemplate(entry.key), entry });
    } catch {
      logger?.warn(
        { server: entry.server, uriTemplate: entry.key },
        'unparseable resource template ignored for routing',
      );
    }
  }
  return {
    version,
    tools: [...tools.values()],
    prompts: [...prompts.values()],
    resources: [...resources.values()],
    templates: [...templates.values()],
    tool: tools,
    prompt: prompts,
    resource: resources,
    template: templates,
    matchers,
  };
}

/** The server that owns a resource URI: the resource table first, then templates in order. */
export function routeResource(tables: NameTables, uri: string): { server: string } | undefined {
  const exact = tables.resource.get(uri);
  if (exact) return { server: exact.server };
  const byTemplate = tables.template.get(uri);
  if (byTemplate) return { server: byTemplate.server };
  for (const { template, entry } of tables.matchers) {
    if (template.match(uri) !== null) return { server: entry.server };
  }
  return undefined;
}
