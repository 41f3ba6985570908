// `mcpcp users add|remove|list`: the people who may sign in to the built-in authorization server, kept in the
// config's `oauth.users` with a scrypt hash (auth/password.ts), never the password. Edits keep the file's
// comments and layout, are validated as a whole config before they are written, and are written atomically.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { Command } from 'commander';
import { hashPassword } from '../../auth/password.ts';
import { parseConfig } from '../../config/load.ts';
import { userNamePattern } from '../../config/oauth-schema.ts';
import { McpcpError } from '../../lib/errors.ts';
import { withUsageErrors } from '../auth-settings.ts';
import type { Register } from '../cli.ts';
import { defaultConfigFile } from '../config-file.ts';
import { readPassword } from '../password-prompt.ts';

interface UserFlags {
  config?: string;
  json?: boolean;
}

async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new McpcpError('ERR_CONFIG_NOT_FOUND', `${file}: cannot read the config file`, { cause: error });
  }
}

/** Validates the edited text as a whole config, then replaces the file in one rename. */
async function writeConfigText(file: string, text: string): Promise<void> {
  parseConfig(text, file, path.dirname(path.resolve(file)));
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await rename(temporary, file);
}

export const registerUsers: Register = (program) => {
  const users = program
    .command('users')
    .description('people who may sign in to the OAuth authorization server (oauth.users in the config)');

  users
    .command('add')
    .description(
      'add a person (or, with --force, replace one) with a scrypt password hash and the agents they may act as',
    )
    .argument('<name>', `user name (${String(userNamePattern)})`)
    .requiredOption('--agent <agent...>', 'an agent this person may act as (repeat for several)')
    .option('--operator', 'may also open the whole web console by signing in there with this password')
    .option('--config <file>', `config file (default: ./${defaultConfigFile})`)
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--force', 'replace the person if they exist')
    .option('--json', 'print JSON')
    .action(
      withUsageErrors(
        async (
          name: string,
          flags: UserFlags & {
            agent: string[];
            operator?: boolean;
            passwordStdin?: boolean;
            force?: boolean;
          },
        ) => {
          if (!userNamePattern.test(name)) {
            throw new McpcpError('ERR_INVALID_ARGUMENT', `user name must match ${String(userNamePattern)}`);
          }
          const file = flags.config ?? defaultConfigFile;
          const doc = parseDocument(await readConfigText(file));
          if (doc.hasIn(['oauth', 'users', name]) && flags.force !== true) {
            throw new McpcpError('ERR_INVALID_ARGUMENT', `user ${name} exists; pass --force to replace them`);
          }
          const password = await readPassword({ fromStdin: flags.passwordStdin === true, confirm: true });
          const passwordHash = await hashPassword(password);
          const operator = flags.operator === true;
          doc.setIn(
            ['oauth', 'users', name],
            doc.createNode({ passwordHash, agents: flags.agent, ...(operator ? { operator } : {}) }),
          );
          await writeConfigText(file, doc.toString());
          const data = { user: name, agents: flags.agent, operator, file };
          process.stdout.write(
            flags.json === true
              ? `${JSON.stringify(data)}\n`
              : `added ${name} (may act as ${flags.agent.join(', ')}${operator ? '; a console operator' : ''}) to ${file}\n`,
          );
        },
      ),
    );

  users
    .command('remove')
    .description('remove a person; their grants stop working at their next refresh')
    .argument('<name>', 'user name')
    .option('--config <file>', `config file (default: ./${defaultConfigFile})`)
    .option('--json', 'print JSON')
    .action(
      withUsageErrors(async (name: string, flags: UserFlags) => {
        const file = flags.config ?? defaultConfigFile;
        const doc = parseDocument(await readConfigText(file));
        if (!doc.hasIn(['oauth', 'users', name])) {
          throw new McpcpError('ERR_INVALID_ARGUMENT', `no user ${name} in ${file}`);
        }
        doc.deleteIn(['oauth', 'users', name]);
        await writeConfigText(file, doc.toString());
        process.stdout.write(
          flags.json === true
            ? `${JSON.stringify({ removed: name, file })}\n`
            : `removed ${name} from ${file}\n`,
        );
      }),
    );

  users
    .command('list')
    .description('list the people and the agents each may act as')
    .option('--config <file>', `config file (default: ./${defaultConfigFile})`)
    .option('--json', 'print JSON')
    .action(
      withUsageErrors(async (flags: UserFlags, command: Command) => {
        void command;
        const file = flags.config ?? defaultConfigFile;
        const config = parseConfig(await readConfigText(file), file, path.dirname(path.resolve(file)));
        const list = Object.entries(config.oauth?.users ?? {}).map(([user, entry]) => ({
          user,
          agents: entry.agents,
          operator: entry.operator,
        }));
        process.stdout.write(
          flags.json === true
            ? `${JSON.stringify(list)}\n`
            : list.length === 0
              ? `no users in ${file}\n`
              : `${list.map((u) => `${u.user}: ${u.agents.join(', ')}${u.operator ? ' (console operator)' : ''}`).join('\n')}\n`,
        );
      }),
    );
};
