// Reads mcpcp.yaml once at the edge: YAML → zod → absolute paths → deep-frozen McpcpConfig.
// Every error names file:line:col and the field. It must not read process.env or start anything.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { McpcpError } from '../lib/errors.ts';
import { isPostgresUrl } from '../lib/postgres/address.ts';
import { deepFreeze } from './deep-freeze.ts';
import { mcpcpConfigSchema } from './schema.ts';
import type { McpcpConfig } from './schema.ts';
import { formatPath, locatePath } from './yaml-positions.ts';

/** One problem in a config file, as put in `McpcpError.details.issues`. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly message: string;
}

/** Parses config text. `fileName` is used in messages; relative paths resolve against `baseDir` (default: its folder). */
export function parseConfig(text: string, fileName: string, baseDir?: string): McpcpConfig {
  const data = parseYamlWithSchema(mcpcpConfigSchema, text, fileName);
  const dir = baseDir ?? path.dirname(path.resolve(fileName));
  return deepFreeze(resolvePaths(data, dir));
}

/**
 * YAML text → `schema`'s output. Errors name file:line:col and the field (ERR_CONFIG_YAML, ERR_CONFIG_INVALID), so
 * every YAML file MCPCP reads (mcpcp.yaml, a runner's own file) reports mistakes the same way.
 */
export function parseYamlWithSchema<S extends z.ZodType>(
  schema: S,
  text: string,
  fileName: string,
): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, prettyErrors: true, merge: true });
  if (doc.errors.length > 0) throw yamlError(doc, fileName);

  const raw: unknown = doc.toJS() ?? {};
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) =>
      toConfigIssues(issue, doc, lineCounter, fileName, raw),
    );
    const message = issues.map((i) => `${i.file}:${i.line}:${i.col}: ${i.path}: ${i.message}`).join('\n');
    throw new McpcpError('ERR_CONFIG_INVALID', message, { cause: result.error, details: { issues } });
  }
  return result.data;
}

/** Reads and parses a config file; missing or unreadable files are ERR_CONFIG_NOT_FOUND. */
export async function loadConfig(file: string): Promise<McpcpConfig> {
  return parseConfig(await readConfigText(file), file, path.dirname(path.resolve(file)));
}

/** A config file's text; missing or unreadable files are ERR_CONFIG_NOT_FOUND. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT' ? 'config file not found' : `cannot read config file (${code ?? 'error'})`;
    throw new McpcpError('ERR_CONFIG_NOT_FOUND', `${file}: ${problem} (looked for ${path.resolve(file)})`, {
      cause: error,
      details: { file: path.resolve(file) },
    });
  }
}

type ParsedConfig = z.output<typeof mcpcpConfigSchema>;

function resolvePaths(config: ParsedConfig, dir: string): ParsedConfig {
  return {
    ...config,
    proxy: { ...config.proxy, keysDir: path.resolve(dir, config.proxy.keysDir) },
    ...(config.oauth === undefined ? {} : { oauth: resolveOAuthPaths(config.oauth, dir) }),
    servers: config.servers.map((server) =>
      server.transport === 'stdio'
        ? { ...server, cwd: path.resolve(dir, server.cwd) }
        : server.start === undefined
          ? server
          : { ...server, start: { ...server.start, cwd: path.resolve(dir, server.start.cwd) } },
    ),
  };
}

function resolveOAuthPaths(oauth: NonNullable<ParsedConfig['oauth']>, dir: string): typeof oauth {
  const ca = oauth.development.trustedCaFile;
  return {
    ...oauth,
    store:
      oauth.store === ':memory:' || isPostgresUrl(oauth.store) ? oauth.store : path.resolve(dir, oauth.store),
    development: {
      ...oauth.development,
      ...(ca === undefined ? {} : { trustedCaFile: path.resolve(dir, ca) }),
    },
  };
}

function yamlError(doc: Document, fileName: string): McpcpError {
  const issues: ConfigIssue[] = doc.errors.map((error) => {
    const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
    const firstLine = error.message.split('\n')[0] ?? error.message;
    const message = firstLine.replace(/ at line \d+, column \d+:?$/, '');
    return { file: fileName, line: pos.line, col: pos.col, path: '(yaml)', message };
  });
  const message = issues.map((i) => `${i.file}:${i.line}:${i.col}: invalid YAML: ${i.message}`).join('\n');
  return new McpcpError('ERR_CONFIG_YAML', message, { cause: doc.errors[0], details: { issues } });
}

function toConfigIssues(
  issue: z.core.$ZodIssue,
  doc: Document,
  lineCounter: LineCounter,
  fileName: string,
  raw: unknown,
): ConfigIssue[] {
  const at = (issuePath: readonly PropertyKey[], message: string, atKey = false): ConfigIssue => {
    const { position } = locatePath(doc, lineCounter, issuePath, { atKey });
    return { file: fileName, ...position, path: formatPath(issuePath), message };
  };
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => at([...issue.path, key], `unknown key "${key}"`, true));
    case 'invalid_key':
      return [at(issue.path, `invalid key: ${issue.issues.map((i) => i.message).join('; ')}`, true)];
    case 'invalid_type':
      return [
        at(
          issue.path,
          hasPath(raw, issue.path)
            ? `expected ${issue.expected}, got ${describe(valueAt(raw, issue.path))}`
            : `is required (${issue.expected})`,
        ),
      ];
    default:
      return [at(issue.path, issue.message)];
  }
}

function valueAt(root: unknown, issuePath: readonly PropertyKey[]): unknown {
  let value = root;
  for (const segment of issuePath) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function hasPath(root: unknown, issuePath: readonly PropertyKey[]): boolean {
  let value = root;
  for (const segment of issuePath) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return false;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return true;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}
