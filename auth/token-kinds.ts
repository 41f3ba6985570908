// The kinds of JWT this project signs and how they are told apart (RFC 8725 §3.11 explicit typing):
// agent tokens (front door, aud = the proxy's /mcp URL), internal child tokens (aud = a child id) and operator
// tokens (console sign-in, aud = the proxy's /console URL). A token of one kind must never pass another's verifier.

/** `typ` header of agent access tokens (RFC 9068). */
export const agentTokenType = 'at+jwt';
/** `typ` header of internal proxy → child tokens. */
export const childTokenType = 'mcpcp-child+jwt';
/** Private claim naming the kind; child tokens carry `mcpcp_kind: 'child'`. */
export const kindClaim = 'mcpcp_kind';
export const childKind = 'child';
/** `typ` header and kind of operator tokens (console sign-in, aud = the proxy's /console URL). */
export const operatorTokenType = 'mcpcp-operator+jwt';
export const operatorKind = 'operator';

/** Claims the issuer sets itself; callers' extra claims may not override them. */
export const reservedClaims: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'scope',
  kindClaim,
]);

/** Agent names and child ids end up as `sub`/`aud`: printable, no whitespace, bounded. */
export function isValidSubject(value: string): boolean {
  return /^[\x21-\x7e\u00a0-\uffff]{1,256}$/u.test(value);
}
