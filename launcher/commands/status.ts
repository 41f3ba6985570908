// `mcpcp status`: asks the running fleet (admin socket in the data folder) for its state and prints the table.
import type { Command } from 'commander';
import { readRuntimeEnv } from '../../lib/env.ts';
import type { Register } from '../cli.ts';
import { adminRequest } from '../fleet/admin-socket.ts';
import type { FleetStatus } from '../fleet/fleet.ts';
import { renderStatus } from '../fleet/render.ts';

export const registerStatus: Register = (program: Command) => {
  program
    .command('status')
    .description('show the running fleet: servers, pids, state, tools, and the URL agents use')
    .option('--data-dir <dir>', 'data folder of the fleet (default: .mcpcp)')
    .option('--json', 'print the status as JSON')
    .action(async (flags: { dataDir?: string; json?: boolean }) => {
      const status = (await adminRequest(
        flags.dataDir ?? readRuntimeEnv().home,
        'GET',
        '/status',
      )) as FleetStatus;
      process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : `${renderStatus(status)}\n`);
    });
};
