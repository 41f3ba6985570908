#!/usr/bin/env node
// Entry point of the `mcpcp` CLI: wires the command modules and sets the exit code.
import { addCommands, runCli } from '../cli.ts';
import { commands } from '../commands/index.ts';

addCommands(...commands);
process.exitCode = await runCli(process.argv.slice(2));
