// What a tool definition is, for pinning: its hash (sha256 of the RFC 8785 JSON of everything a child says about the
// tool except `_meta`, which carries volatile transport data) and a path-by-path diff of two definitions.
// Pure; it must not store anything.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export type ToolDefinition = Readonly<Record<string, unknown>> & { readonly name: string };

/** The part of a definition that tells agents what the tool does and takes: all of it but `_meta`. */
export function pinnedPart(tool: ToolDefinition): Record<string, unknown> {
  const { _meta: _ignored, ...rest } = tool as Record<string, unknown>;
  return rest;
}

export function definitionHash(tool: ToolDefinition): string {
  return createHash('sha256')
    .update(canonicalize(pinnedPart(tool)) ?? 'null')
    .digest('hex');
}

export interface DefinitionChange {
  /** JSON path, e.g. `description` or `inputSchema.properties.path.description`. */
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly before?: unknown;
  readonly after?: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every leaf that differs between two definitions, in key order; arrays compare as whole values. */
export function diffDefinitions(before: unknown, after: unknown, path = ''): DefinitionChange[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => {
      const at = path === '' ? key : `${path}.${key}`;
      if (!(key in after)) return [{ path: at, kind: 'removed' as const, before: before[key] }];
      if (!(key in before)) return [{ path: at, kind: 'added' as const, after: after[key] }];
      return diffDefinitions(before[key], after[key], at);
    });
  }
  if (canonicalize(before) === canonicalize(after)) return [];
  return [{ path: path === '' ? '(definition)' : path, kind: 'changed', before, after }];
}
