// `mcpcp console token`: an operator token for the web console's sign-in (auth/operator.ts), for the running fleet
// (its issuer and public URL from the admin socket) or a config; `mcpcp console url` prints where the console is.
import type { Command } from 'commander';
import { consoleAudience, issueOperatorToken } from '../../auth/operator.ts';
import { loadSigner } from '../../auth/keys.ts';
import { parseTtl } from '../../auth/tokens.ts';
import { loadConfig } from '../../config/load.ts';
import { readRuntimeEnv } from '../../lib/env.ts';
import { isMcpcpError } from '../../lib/errors.ts';
import type { Register } from '../cli.ts';
import { defaultConfigFile, loadCliConfig } from '../config-file.ts';
import { adminRequest } from '../fleet/admin-socket.ts';
import type { FleetStatus } from '../fleet/fleet.ts';

interface Flags {
  dataDir?: string;
  config?: string;
  ttl: string;
  name: string;
  json?: boolean;
}

/** Issuer, public URL and keys: the running fleet's, else the config's. */
async function target(flags: Pick<Flags, 'dataDir' | 'config'>) {
  if (flags.config === undefined) {
    try {
      const status = (await adminRequest(
        flags.dataDir ?? readRuntimeEnv().home,
        'GET',
        '/status',
      )) as FleetStatus;
      const publicUrl = status.proxy.resource.replace(/\/mcp$/, '');
      const keysDir =
        status.configFile === undefined ? undefined : (await loadConfig(status.configFile)).proxy.keysDir;
      return { issuer: status.proxy.issuer, publicUrl, keysDir, localUrl: status.proxy.url };
    } catch (error) {
      if (!isMcpcpError(error, 'ERR_FLEET_NOT_RUNNING')) throw error;
    }
  }
  const { config } = await loadCliConfig(flags.config);
  return {
    issuer: config.proxy.issuer,
    publicUrl: config.proxy.publicUrl,
    keysDir: config.proxy.keysDir,
    localUrl: config.proxy.publicUrl,
  };
}

export const registerConsole: Register = (program: Command) => {
  const cmd = program.command('console').description('the web console at /console');
  const common = (c: Command) =>
    c
      .option('--data-dir <dir>', 'data folder of the running fleet (default: .mcpcp)')
      .option('--config <file>', `use this config instead of the running fleet (e.g. ./${defaultConfigFile})`)
      .option('--json', 'print JSON');

  common(
    cmd
      .command('token')
      .description('print an operator token to sign in to the console (paste it into the sign-in form)')
      .option('--ttl <ttl>', 'lifetime: 3600, 30m, 8h, 2d', '8h')
      .option('--name <operator>', 'who signs in (shown in the console and in approvals)', 'operator'),
  ).action(async (flags: Flags) => {
    const ttlSeconds = parseTtl(flags.ttl);
    const where = await target(flags);
    const signer = await loadSigner(where.keysDir ?? '.mcpcp/keys');
    const audience = consoleAudience(where.publicUrl);
    const token = await issueOperatorToken(signer, {
      issuer: where.issuer,
      audience,
      operator: flags.name,
      ttlSeconds,
    });
    process.stdout.write(
      flags.json
        ? `${JSON.stringify({ token, operator: flags.name, console: `${where.localUrl}/console`, audience, ttlSeconds }, null, 2)}\n`
        : `${token}\n`,
    );
  });

  common(cmd.command('url').description('print the console URL of the running fleet')).action(
    async (flags: Pick<Flags, 'dataDir' | 'config' | 'json'>) => {
      const where = await target(flags);
      const url = `${where.localUrl}/console`;
      process.stdout.write(flags.json ? `${JSON.stringify({ url })}\n` : `${url}\n`);
    },
  );
};
