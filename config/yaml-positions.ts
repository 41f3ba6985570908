// Maps a path inside parsed YAML (['servers', 1, 'transport']) to a line and column in the source text,
// and formats such paths for humans. It must not validate anything; config/load.ts decides what is wrong.
import { isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node } from 'yaml';

export interface SourcePosition {
  readonly line: number;
  readonly col: number;
}

export interface LocatedNode {
  readonly position: SourcePosition;
  /** False when the path does not exist and the position is that of the nearest existing ancestor. */
  readonly exact: boolean;
}

/**
 * Finds the node at `path`. With `atKey`, points at the key of the last segment rather than its value
 * (used for unknown keys). Missing paths point at the nearest existing ancestor.
 */
export function locatePath(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  options: { atKey?: boolean } = {},
): LocatedNode {
  let node: unknown = doc.contents;
  let last: unknown = node;
  for (const [index, segment] of path.entries()) {
    node = resolve(doc, node);
    if (node === null || node === undefined) break;
    last = node;
    const isFinal = index === path.length - 1;
    const child = childOf(node, segment, options.atKey === true && isFinal);
    if (child === undefined) return { position: positionOf(lineCounter, last), exact: false };
    node = child;
  }
  if (node === null || node === undefined) return { position: positionOf(lineCounter, last), exact: false };
  return { position: positionOf(lineCounter, node), exact: true };
}

function resolve(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function childOf(node: unknown, segment: PropertyKey, wantKey: boolean): unknown {
  if (isMap(node)) {
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const key = isScalar(item.key) ? item.key.value : item.key;
      if (String(key) === String(segment)) return wantKey ? item.key : (item.value ?? item.key);
    }
    return undefined;
  }
  if (isSeq(node) && typeof segment === 'number') return node.items[segment] ?? undefined;
  return undefined;
}

function positionOf(lineCounter: LineCounter, node: unknown): SourcePosition {
  const range = (node as Partial<Node> | null)?.range;
  const offset = range?.[0] ?? 0;
  return lineCounter.linePos(offset);
}

/** `servers[1].transport`, `policy.rules[0].arguments["a.b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const text = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(text)) out += out === '' ? text : `.${text}`;
      else out += `[${JSON.stringify(text)}]`;
    }
  }
  return out === '' ? '(root)' : out;
}
