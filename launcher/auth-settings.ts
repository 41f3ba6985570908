// Resolves where the CLI's key and token commands get their settings: flags first, then the config file
// (--config, or ./mcpcp.yaml when present), then built-in defaults. It must not sign or verify anything.
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { canonicalResource, type McpcpConfig } from '../config/schema.ts';
import { readRuntimeEnv } from '../lib/env.ts';
import { McpcpError, isMcpcpError } from '../lib/errors.ts';

export interface AuthFlags {
  config?: string;
  dir?: string;
  keysDir?: string;
  issuer?: string;
  audience?: string;
  jwksUrl?: string;
}

export interface AuthSettings {
  config: McpcpConfig | undefined;
  keysDir: string;
  issuer: string | undefined;
  audience: string | undefined;
  jwksUrl: string | undefined;
}

export const defaultConfigFile = 'mcpcp.yaml';

export async function resolveAuthSettings(flags: AuthFlags): Promise<AuthSettings> {
  const configFile = flags.config ?? ((await exists(defaultConfigFile)) ? defaultConfigFile : undefined);
  const config = configFile === undefined ? undefined : await loadConfig(configFile);
  const dir = flags.dir ?? flags.keysDir;
  return {
    config,
    keysDir: resolve(dir ?? config?.proxy.keysDir ?? join(readRuntimeEnv().home, 'keys')),
    issuer: flags.issuer ?? config?.proxy.issuer,
    audience: flags.audience ?? (config === undefined ? undefined : canonicalResource(config)),
    jwksUrl: flags.jwksUrl ?? config?.proxy.jwksUrl,
  };
}

/** The issuer and audience a token command needs, or a usage error saying how to give them. */
export function requireIssuerAndAudience(settings: AuthSettings): { issuer: string; audience: string } {
  const { issuer, audience } = settings;
  if (issuer === undefined || audience === undefined) {
    const missing = [issuer === undefined ? '--issuer' : '', audience === undefined ? '--audience' : '']
      .filter(Boolean)
      .join(' and ');
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      `no ${missing}: pass ${missing}, or --config FILE (or run where ./${defaultConfigFile} exists)`,
    );
  }
  return { issuer, audience };
}

/** Names the config knows as agents (listed agents and group members); empty when there is no config. */
export function knownAgents(config: McpcpConfig | undefined): Set<string> {
  if (config === undefined) return new Set();
  return new Set([...Object.keys(config.agents), ...Object.values(config.groups).flat()]);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Wraps a commander action so ERR_INVALID_ARGUMENT (bad --ttl, missing --issuer, …) ends as a usage error
 * (exit 2, with the usage hint) instead of an operation failure (exit 1).
 */
export function withUsageErrors<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      const command = args.at(-1);
      if (isMcpcpError(error, 'ERR_INVALID_ARGUMENT') && command instanceof Command) {
        command.error(`mcpcp: ${error.message} (${error.code})`, { exitCode: 2, code: 'mcpcp.usage' });
      }
      throw error;
    }
  };
}
