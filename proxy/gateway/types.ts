// Types the gateway shares with the edge. Principal mirrors auth/verify.ts structurally so the
// gateway does not depend on how tokens are verified.

/** Placeholder until auth/policy.ts lands; then this re-exports its CompiledPolicy. */
export type CompiledPolicy = object;

export interface Principal {
  agent: string;
  scopes: string[];
  claims: Readonly<Record<string, unknown>>;
  expiresAt: number;
  tokenId?: string;
}
