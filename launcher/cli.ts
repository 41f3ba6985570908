// Builds the `mcpcp` command tree. Each command lives in launcher/commands/<name>.ts and registers itself here.
// Exit codes: 0 success, 1 operation failed, 2 usage or invalid input (bad flags, invalid config, rejected token).
import { Command, CommanderError } from 'commander';
import { isMcpcpError } from '../lib/errors.ts';

export type Register = (program: Command) => void;

// One line per command module; keep alphabetical.
const registrations: Register[] = [];

export function addCommands(...more: Register[]): void {
  registrations.push(...more);
}

export function buildProgram(): Command {
  const program = new Command('mcpcp')
    .description('MCPCP: one governed front door to many MCP servers')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of registrations) register(program);
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can call it in-process. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 1, which we report as 2.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (isMcpcpError(error)) {
      process.stderr.write(`mcpcp: ${error.message} (${error.code})\n`);
      // Bad input from the operator (a config, a token, a flag value) is a usage error: 2, as commander's own.
      return error.code.startsWith('ERR_CONFIG') ||
        error.code.startsWith('ERR_TOKEN') ||
        error.code === 'ERR_INVALID_ARGUMENT'
        ? 2
        : 1;
    }
    process.stderr.write(
      `mcpcp: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    return 1;
  }
}
