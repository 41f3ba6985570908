// `mcpcp down`: asks the running fleet to stop (admin socket) and waits until it has.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { readRuntimeEnv } from '../../lib/env.ts';
import { McpcpError, isMcpcpError } from '../../lib/errors.ts';
import type { Register } from '../cli.ts';
import { adminRequest } from '../fleet/admin-socket.ts';
import type { FleetStatus } from '../fleet/fleet-types.ts';

export const registerDown: Register = (program: Command) => {
  program
    .command('down')
    .description('stop the running fleet: drain calls, stop every child, exit')
    .option('--data-dir <dir>', 'data folder of the fleet (default: .mcpcp)')
    .option('--timeout <ms>', 'how long to wait for the fleet to stop', '30000')
    .action(async (flags: { dataDir?: string; timeout: string }) => {
      const dataDir = flags.dataDir ?? readRuntimeEnv().home;
      const started = Date.now();
      const before = (await adminRequest(dataDir, 'GET', '/status')) as FleetStatus;
      await adminRequest(dataDir, 'POST', '/down');
      const deadline = started + Number(flags.timeout);
      for (;;) {
        try {
          await adminRequest(dataDir, 'GET', '/status', 1_000);
        } catch (error) {
          if (isMcpcpError(error, 'ERR_FLEET_NOT_RUNNING')) break;
        }
        if (Date.now() > deadline) {
          throw new McpcpError(
            'ERR_UPSTREAM_TIMEOUT',
            `the fleet in ${dataDir} did not stop within ${flags.timeout} ms`,
          );
        }
        await sleep(100);
      }
      const ids = before.servers.map((row) => row.id);
      process.stdout.write(
        `Fleet in ${dataDir} stopped (${Date.now() - started} ms): ` +
          `${ids.length} server(s)${ids.length > 0 ? ` (${ids.join(', ')})` : ''} and the proxy; no process left.\n`,
      );
    });
};
