// Exposed names for tools and prompts: `<namespace>_<name>`, always `^[a-zA-Z0-9_-]{1,64}$`.
// Pure and deterministic; it must never be used to route (the gateway routes through its name table).
import { createHash } from 'node:crypto';

export const maxNameLength = 64;
const allowed = /^[a-zA-Z0-9_-]+$/;
const hashLength = 8;

/**
 * Qualifies a child's name with its namespace. Names that are too long or carry characters outside
 * `[a-zA-Z0-9_-]` become a readable stem plus `_` plus 8 hex chars of sha256 over the unaltered
 * `<namespace>_<name>`, so two different inputs never shorten to the same name by accident.
 */
export function qualifyName(namespace: string, name: string): string {
  const raw = namespace === '' ? name : `${namespace}_${name}`;
  if (raw.length > 0 && raw.length <= maxNameLength && allowed.test(raw)) return raw;
  const hash = createHash('sha256').update(raw).digest('hex').slice(0, hashLength);
  const stem = raw.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, maxNameLength - hashLength - 1);
  return stem === '' ? `n_${hash}` : `${stem}_${hash}`;
}
