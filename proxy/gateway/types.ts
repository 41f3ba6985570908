// Types the gateway shares with the edge. Principal mirrors auth/verify.ts structurally so the
// gateway does not depend on how tokens are verified.

export type { CompiledPolicy } from '../../auth/policy.ts';

export interface Principal {
  agent: string;
  scopes: string[];
  claims: Readonly<Record<string, unknown>>;
  expiresAt: number;
  tokenId?: string;
}
