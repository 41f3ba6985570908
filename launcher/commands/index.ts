// The list of command modules the CLI registers. Add one import and one entry per command module.
import type { Register } from '../cli.ts';
import { registerConfig } from './config.ts';
import { registerConsole } from './console.ts';
import { registerDemo } from './demo.ts';
import { registerDoctor } from './doctor.ts';
import { registerDown } from './down.ts';
import { registerKeys } from './keys.ts';
import { registerPolicy } from './policy.ts';
import { registerStatus } from './status.ts';
import { registerToken } from './token.ts';
import { registerTools } from './tools.ts';
import { registerUp } from './up.ts';
import { registerUsers } from './users.ts';
import { registerVerify } from './verify.ts';

export const commands: Register[] = [
  registerConfig,
  registerConsole,
  registerDemo,
  registerDoctor,
  registerDown,
  registerKeys,
  registerPolicy,
  registerStatus,
  registerToken,
  registerTools,
  registerUp,
  registerUsers,
  registerVerify,
];
