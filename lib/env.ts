// The only module that reads process.env. Everything else receives these values as arguments.

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
}

export function readRuntimeEnv(env: NodeJS.ProcessEnv = process.env): RuntimeEnv {
  return Object.freeze({
    home: env.MCPCP_HOME ?? '.mcpcp',
    logLevel: env.MCPCP_LOG_LEVEL ?? 'info',
    ci: env.CI === 'true',
    viaNpm: env.npm_lifecycle_event !== undefined,
    databaseUrl: env.DATABASE_URL,
  });
}

/** Variables a child process may inherit: enough to run, never the parent's secrets. */
export const childEnvAllowList = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'NODE_OPTIONS'] as const;

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
