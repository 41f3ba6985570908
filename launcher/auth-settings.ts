// Resolves where the CLI's key and token commands get their settings: flags first, then the running fleet of the
// data folder (its live issuer and audience), then the config file found as `mcpcp up` finds it (config-file.ts),
// then built-in defaults. It must not sign or verify anything.
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { canonicalResource, type McpcpConfig } from '../config/schema.ts';
import { readRuntimeEnv } from '../lib/env.ts';
import { McpcpError, isMcpcpError } from '../lib/errors.ts';
import { defaultConfigFile, findConfigFile } from './config-file.ts';

export interface AuthFlags {
  config?: string;
  dataDir?: string;
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

export async function resolveAuthSettings(flags: AuthFlags): Promise<AuthSettings> {
  const found = await findConfigFile(flags.config, flags.dataDir);
  const config = found === undefined ? undefined : await loadConfig(found.file);
  // A fleet running from this config knows what it really serves (`up --port` moves the audience).
  const live = found?.fleet?.proxy;
  const dir = flags.dir ?? flags.keysDir;
  return {
    config,
    keysDir: resolve(dir ?? config?.proxy.keysDir ?? join(flags.dataDir ?? readRuntimeEnv().home, 'keys')),
    issuer: flags.issuer ?? live?.issuer ?? config?.proxy.issuer,
    audience:
      flags.audience ?? live?.resource ?? (config === undefined ? undefined : canonicalResource(config)),
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
      `no ${missing}: pass ${missing}, or --config FILE or --data-dir DIR (or run where ./${defaultConfigFile} exists)`,
    );
  }
  return { issuer, audience };
}

/** Names the config knows as agents (listed agents and group members); empty when there is no config. */
export function knownAgents(config: McpcpConfig | undefined): Set<string> {
  if (config === undefined) return new Set();
  return new Set([...Object.keys(config.agents), ...Object.values(config.groups).flat()]);
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
