// The only module that reads process.env. Everything else receives these values as arguments.
import { McpcpError } from './errors.ts';

export interface RuntimeEnv {
  /** Folder for keys, config and state when none is given (MCPCP_HOME, default ./.mcpcp). */
  readonly home: string;
  /** Log level for structured logs (MCPCP_LOG_LEVEL, default info). */
  readonly logLevel: string;
  /** True when running under CI (CI=true). */
  readonly ci: boolean;
  /** True when started by an npm script (`npm run mcpcp -- …`), so hints can show the command the user typed. */
  readonly viaNpm: boolean;
  /** DATABASE_URL: the channels server's store when no --store flag is given (a postgres:// URL). */
  readonly databaseUrl: string | undefined;
  /**
   * Whether the direct lanes that bypass the MCP SDK on hot paths are on (MCPCP_DIRECT_LANES, `on` by
   * default, `off` turns every one off: the operators' kill switch, and how CI checks they never diverge).
   */
  readonly directLanes: boolean;
}

/** Reads MCPCP_DIRECT_LANES; anything but on/off (or 1/0, true/false) is refused with a clear error. */
export function parseDirectLanes(value: string | undefined): boolean {
  if (value === undefined || value === '') return true;
  const v = value.trim().toLowerCase();
  if (v === 'on' || v === '1' || v === 'true') return true;
  if (v === 'off' || v === '0' || v === 'false') return false;
  throw new McpcpError(
    'ERR_CONFIG_INVALID',
    `MCPCP_DIRECT_LANES must be "on" or "off", not ${JSON.stringify(value)}`,
  );
}

export function readRuntimeEnv(env: NodeJS.ProcessEnv = process.env): RuntimeEnv {
  return Object.freeze({
    home: env.MCPCP_HOME ?? '.mcpcp',
    logLevel: env.MCPCP_LOG_LEVEL ?? 'info',
    ci: env.CI === 'true',
    viaNpm: env.npm_lifecycle_event !== undefined,
    databaseUrl: env.DATABASE_URL,
    directLanes: parseDirectLanes(env.MCPCP_DIRECT_LANES),
  });
}

/**
 * Variables a child process may inherit: enough to run, never the parent's secrets. MCPCP_DIRECT_LANES
 * reaches first-party children so one switch turns their lane (servers/_kit/http.ts) off too.
 */
export const childEnvAllowList = [
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'NODE_OPTIONS',
  'MCPCP_DIRECT_LANES',
] as const;

export function pickChildEnv(
  extra: Readonly<Record<string, string>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of childEnvAllowList) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return { ...out, ...extra };
}
