// The private claims MCPCP adds to the access tokens its authorization server issues. Shared by the issuer
// (proxy/oauth/provider.ts) and the checks at the door (proxy/oauth/scopes.ts, proxy/oauth/index.ts).

/** The person who consented (for audit); `sub` is the agent they chose. */
export const userClaim = 'mcpcp_user';
/** The grant the token belongs to: a token whose grant was revoked is refused. */
export const grantClaim = 'mcpcp_grant';
