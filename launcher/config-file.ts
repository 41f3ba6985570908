// Finds and loads the config file a CLI command works on (`--config FILE`, else ./mcpcp.yaml).
// It must not print; commands decide what to show.
import path from 'node:path';
import { loadConfig } from '../config/load.ts';
import type { McpcpConfig } from '../config/schema.ts';
import { McpcpError, isMcpcpError } from '../lib/errors.ts';

export const defaultConfigFile = 'mcpcp.yaml';

/** Loads `file`, or ./mcpcp.yaml when none is given, with a hint when the default is missing. */
export async function loadCliConfig(
  file: string | undefined,
): Promise<{ file: string; config: McpcpConfig }> {
  const chosen = file ?? defaultConfigFile;
  try {
    return { file: chosen, config: await loadConfig(chosen) };
  } catch (error) {
    if (file === undefined && isMcpcpError(error, 'ERR_CONFIG_NOT_FOUND')) {
      throw new McpcpError(
        'ERR_CONFIG_NOT_FOUND',
        `no config file given and ${path.resolve(chosen)} does not exist ` +
          '(pass a file, or copy mcpcp.example.yaml to mcpcp.yaml)',
        { cause: error },
      );
    }
    throw error;
  }
}
