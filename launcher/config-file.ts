// Finds and loads the config file a CLI command works on, the way `mcpcp up` chose it: `--config FILE`, else
// ./mcpcp.yaml, else the config of the fleet running in the data folder (asked over its admin socket), else the
// embedded default fleet's `<data-dir>/mcpcp.yaml`. A running fleet also tells its live issuer and audience
// (which follow `up --port`). It must not print; commands decide what to show.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../config/load.ts';
import type { McpcpConfig } from '../config/schema.ts';
import { readRuntimeEnv } from '../lib/env.ts';
import { McpcpError } from '../lib/errors.ts';
import { adminRequest } from './fleet/admin-socket.ts';
import type { FleetStatus } from './fleet/fleet-types.ts';

export const defaultConfigFile = 'mcpcp.yaml';

export interface FoundConfig {
  file: string;
  /** The fleet running in the data folder from this very file, when there is one. */
  fleet?: FleetStatus;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The running fleet of the data folder, or undefined when none answers (no socket: no wait). */
async function runningFleet(dataDir: string): Promise<FleetStatus | undefined> {
  try {
    return (await adminRequest(dataDir, 'GET', '/status', 2_000)) as FleetStatus;
  } catch {
    return undefined;
  }
}

/** Where the config is, or undefined when no candidate exists. */
export async function findConfigFile(
  file: string | undefined,
  dataDir: string | undefined,
): Promise<FoundConfig | undefined> {
  const dir = dataDir ?? readRuntimeEnv().home;
  const fleet = await runningFleet(dir);
  const fleetFile = fleet?.configFile;
  const candidates = [
    file,
    (await exists(defaultConfigFile)) ? defaultConfigFile : undefined,
    fleetFile,
    (await exists(path.join(dir, defaultConfigFile))) ? path.join(dir, defaultConfigFile) : undefined,
  ];
  const chosen = candidates.find((candidate) => candidate !== undefined);
  if (chosen === undefined) return undefined;
  const same =
    fleet !== undefined && fleetFile !== undefined && path.resolve(chosen) === path.resolve(fleetFile);
  return same ? { file: chosen, fleet } : { file: chosen };
}

/** Loads the config as found by findConfigFile, with a hint naming every place looked at when none is found. */
export async function loadCliConfig(
  file: string | undefined,
  dataDir?: string,
): Promise<{ file: string; config: McpcpConfig; fleet?: FleetStatus }> {
  const found = await findConfigFile(file, dataDir);
  if (found === undefined) {
    const dir = dataDir ?? readRuntimeEnv().home;
    throw new McpcpError(
      'ERR_CONFIG_NOT_FOUND',
      `no config file given, no ${path.resolve(defaultConfigFile)}, no fleet running in ${dir} and no ` +
        `${path.resolve(dir, defaultConfigFile)} (pass a file or --data-dir, copy mcpcp.example.yaml to ` +
        'mcpcp.yaml, or start the default fleet with `mcpcp up`)',
    );
  }
  return { ...found, config: await loadConfig(found.file) };
}
