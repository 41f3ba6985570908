// The list of command modules the CLI registers. Add one import and one entry per command module.
import type { Register } from '../cli.ts';
import { registerConfig } from './config.ts';
import { registerKeys } from './keys.ts';
import { registerPolicy } from './policy.ts';
import { registerToken } from './token.ts';
import { registerVerify } from './verify.ts';

export const commands: Register[] = [
  registerConfig,
  registerKeys,
  registerPolicy,
  registerToken,
  registerVerify,
];
