// Maps jose's verification failures to this project's stable token error codes. Pure; it must not log
// and must not put token contents into messages (they reach logs).
import { errors } from 'jose';
import { McpcpError, isMcpcpError, type ErrorCode } from '../lib/errors.ts';

export function tokenError(code: ErrorCode, message: string, cause?: unknown): McpcpError {
  return new McpcpError(code, message, cause === undefined ? undefined : { cause });
}

/** Turns anything thrown while verifying into a McpcpError with a token code (or rethrows it as is). */
export function toTokenError(error: unknown): McpcpError {
  if (isMcpcpError(error)) return error;
  if (error instanceof errors.JWTExpired) return tokenError('ERR_TOKEN_EXPIRED', 'token expired', error);
  if (error instanceof errors.JWTClaimValidationFailed) return claimError(error);
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return tokenError('ERR_TOKEN_ALGORITHM', 'token algorithm not allowed', error);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return tokenError('ERR_TOKEN_SIGNATURE', 'token signature invalid', error);
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return tokenError('ERR_TOKEN_UNKNOWN_KEY', 'token signed by an unknown key', error);
  }
  if (error instanceof errors.JWKSTimeout) {
    return new McpcpError('ERR_JWKS_FETCH', 'timed out fetching the JWKS', { cause: error });
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWEInvalid
  ) {
    return tokenError('ERR_TOKEN_INVALID', 'token malformed', error);
  }
  if (error instanceof errors.JOSEError) {
    return tokenError('ERR_TOKEN_INVALID', `token rejected (${error.code})`, error);
  }
  // Not a token problem (a bug or an I/O failure): surface it as internal.
  return new McpcpError('ERR_INTERNAL', 'token verification failed unexpectedly', { cause: error });
}

function claimError(error: InstanceType<typeof errors.JWTClaimValidationFailed>): McpcpError {
  switch (error.claim) {
    case 'aud':
      return tokenError('ERR_TOKEN_AUDIENCE', 'token audience mismatch', error);
    case 'iss':
      return tokenError('ERR_TOKEN_ISSUER', 'token issuer mismatch', error);
    case 'nbf':
      return error.reason === 'check_failed'
        ? tokenError('ERR_TOKEN_NOT_YET_VALID', 'token not yet valid', error)
        : tokenError('ERR_TOKEN_CLAIMS', 'token nbf claim invalid', error);
    default:
      return tokenError('ERR_TOKEN_CLAIMS', `token claim ${error.claim} invalid`, error);
  }
}
