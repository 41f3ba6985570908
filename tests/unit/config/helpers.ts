// Shared bits of the config tests: the repository root and path normalisation for golden files.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Replaces the absolute repository path with "<repo>" so golden files hold on every machine. */
export function normalisePaths(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replaceAll(repoRoot, '<repo>'));
}
