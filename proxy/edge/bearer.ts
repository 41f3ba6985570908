// Bearer tokens at the door (RFC 6750 + RFC 9728): reading the Authorization header and writing the
// 401/403 challenges that point clients at the protected-resource metadata. No verification here.

/** Returns the token of an `Authorization: Bearer <token>` header, or undefined when absent/other scheme. */
export function extractBearerToken(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined) return undefined;
  const match = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(header);
  return match?.[1];
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * The WWW-Authenticate value of a 401. Without a token (RFC 6750 §3.1) no error code is sent, only where
 * to discover the authorization server; with a bad token, `invalid_token` and a generic description.
 */
export function bearerChallenge(options: {
  resourceMetadataUrl: string;
  error?: 'invalid_token' | 'insufficient_scope' | 'invalid_request';
  description?: string;
  scope?: readonly string[];
}): string {
  const params: string[] = [];
  if (options.error !== undefined) params.push(`error=${quote(options.error)}`);
  if (options.description !== undefined) params.push(`error_description=${quote(options.description)}`);
  if (options.scope !== undefined && options.scope.length > 0)
    params.push(`scope=${quote(options.scope.join(' '))}`);
  params.push(`resource_metadata=${quote(options.resourceMetadataUrl)}`);
  return `Bearer ${params.join(', ')}`;
}
