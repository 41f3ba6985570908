// Signs transcript heads with the fleet key (JWS compact, RS256, typ mcpcp-head+jws) and verifies them against a
// JWKS. A signed head is a receipt: "message <seq> with hash <hash> was the head of <channel> at <ts>".
import { CompactSign, compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Signer } from '../../auth/keys.ts';
import { McpcpError } from '../../lib/errors.ts';
import { canonicalJson, type HeadClaims } from './transcript.ts';

export const headTokenType = 'mcpcp-head+jws';

export function createHeadSigner(signer: Signer, issuer?: string): (claims: HeadClaims) => Promise<string> {
  return (claims) => {
    const payload = issuer === undefined ? claims : { ...claims, iss: issuer };
    return new CompactSign(new TextEncoder().encode(canonicalJson(payload)))
      .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: headTokenType })
      .sign(signer.privateKey);
  };
}

/** Verifies a signed head against the JWKS; returns its claims or throws ERR_TOKEN_SIGNATURE / ERR_TOKEN_INVALID. */
export async function verifySignedHead(jws: string, jwks: JSONWebKeySet): Promise<HeadClaims> {
  let payload: Uint8Array;
  try {
    const result = await compactVerify(jws, createLocalJWKSet(jwks), { algorithms: ['RS256'] });
    if (result.protectedHeader.typ !== headTokenType) throw new Error('wrong typ');
    payload = result.payload;
  } catch (cause) {
    throw new McpcpError('ERR_TOKEN_SIGNATURE', 'signed head does not verify against the JWKS', { cause });
  }
  const claims = JSON.parse(new TextDecoder().decode(payload)) as HeadClaims;
  if (
    claims.typ !== 'mcpcp-channel-head' ||
    typeof claims.seq !== 'number' ||
    typeof claims.hash !== 'string'
  ) {
    throw new McpcpError('ERR_TOKEN_INVALID', 'signed head has an unexpected payload');
  }
  return claims;
}
