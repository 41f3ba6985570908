// The list of command modules the CLI registers. Add one import and one entry per command module.
import type { Register } from '../cli.ts';

export const commands: Register[] = [];
