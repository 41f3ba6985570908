// The list of command modules the CLI registers. Add one import and one entry per command module.
import type { Register } from '../cli.ts';
import { registerConfig } from './config.ts';
import { registerPolicy } from './policy.ts';
import { registerVerify } from './verify.ts';

export const commands: Register[] = [registerConfig, registerPolicy, registerVerify];
