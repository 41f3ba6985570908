// `mcpcp keys generate|rotate|list|remove`: the proxy's RS256 signing keys in a folder (jwks.json + private PEMs).
import type { Command } from 'commander';
import { generateKeyPair, listKeys, removeKey, rotateKey } from '../../auth/keys.ts';
import { McpcpError } from '../../lib/errors.ts';
import { resolveAuthSettings, withUsageErrors, type AuthFlags } from '../auth-settings.ts';
import type { Register } from '../cli.ts';

interface KeyFlags extends AuthFlags {
  json?: boolean;
}

const dirHelp = 'key folder (default: proxy.keysDir of the config, else .mcpcp/keys)';
const configHelp = 'config file for proxy.keysDir (default: ./mcpcp.yaml when present)';

function print(flags: KeyFlags, data: unknown, text: string): void {
  process.stdout.write(flags.json === true ? `${JSON.stringify(data)}\n` : `${text}\n`);
}

function parseBits(value: string): number {
  const bits = Number(value);
  if (!Number.isInteger(bits)) throw new McpcpError('ERR_INVALID_ARGUMENT', `--bits must be a number`);
  return bits;
}

export const registerKeys: Register = (program) => {
  const keys = program
    .command('keys')
    .description('manage the RS256 keys that sign agent and internal tokens');

  const withCommon = (command: Command): Command =>
    command
      .option('--dir <dir>', dirHelp)
      .option('--config <file>', configHelp)
      .option('--json', 'print JSON');

  withCommon(
    keys
      .command('generate')
      .description('create a key folder with one new key; refuses if it already holds keys'),
  )
    .option('--force', 'replace all existing keys (tokens they signed stop verifying)')
    .option('--bits <n>', 'RSA modulus length (>= 2048)', parseBits, 2048)
    .action(
      withUsageErrors(async (flags: KeyFlags & { force?: boolean; bits: number }) => {
        const { keysDir } = await resolveAuthSettings(flags);
        const { kid } = await generateKeyPair(keysDir, {
          force: flags.force === true,
          modulusLength: flags.bits,
        });
        print(flags, { kid, dir: keysDir }, `generated key ${kid} in ${keysDir}`);
      }),
    );

  withCommon(
    keys
      .command('rotate')
      .description('add a new key that signs from now on; older keys keep verifying until removed'),
  )
    .option('--bits <n>', 'RSA modulus length (>= 2048)', parseBits, 2048)
    .action(
      withUsageErrors(async (flags: KeyFlags & { bits: number }) => {
        const { keysDir } = await resolveAuthSettings(flags);
        const { kid } = await rotateKey(keysDir, { modulusLength: flags.bits });
        print(flags, { kid, dir: keysDir }, `added key ${kid} in ${keysDir}; it signs from now on`);
      }),
    );

  withCommon(keys.command('list').description('list keys, newest (signing) first')).action(
    withUsageErrors(async (flags: KeyFlags) => {
      const { keysDir } = await resolveAuthSettings(flags);
      const list = await listKeys(keysDir);
      const lines = list.map(
        (key) =>
          `${key.kid}${key.signing ? '  (signing)' : ''}${key.hasPrivateKey ? '' : '  (no private key)'}`,
      );
      print(flags, { dir: keysDir, keys: list }, lines.join('\n'));
    }),
  );

  withCommon(keys.command('remove').description('remove one key; tokens it signed stop verifying'))
    .requiredOption('--kid <kid>', 'key id to remove (see `mcpcp keys list`)')
    .action(
      withUsageErrors(async (flags: KeyFlags & { kid: string }) => {
        const { keysDir } = await resolveAuthSettings(flags);
        await removeKey(keysDir, flags.kid);
        print(flags, { removed: flags.kid, dir: keysDir }, `removed key ${flags.kid} from ${keysDir}`);
      }),
    );
};
