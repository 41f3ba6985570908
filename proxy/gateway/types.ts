// Types the gateway shares with the edge: the verified principal (auth/verify.ts owns it) and the
// compiled policy (auth/policy.ts).

export type { CompiledPolicy } from '../../auth/policy.ts';
export type { Principal } from '../../auth/verify.ts';
