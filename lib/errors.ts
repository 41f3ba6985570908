// The catalogue of local errors: one class, stable string codes, a cause chain.
// It must not know about HTTP or JSON-RPC; proxy/errors-to-wire maps codes to wire errors.

export const errorCodes = [
  // configuration
  'ERR_CONFIG_NOT_FOUND',
  'ERR_CONFIG_YAML',
  'ERR_CONFIG_INVALID',
  // keys and tokens
  'ERR_KEYS_EXIST',
  'ERR_KEYS_NOT_FOUND',
  'ERR_TOKEN_MISSING',
  'ERR_TOKEN_INVALID',
  'ERR_TOKEN_EXPIRED',
  'ERR_TOKEN_NOT_YET_VALID',
  'ERR_TOKEN_AUDIENCE',
  'ERR_TOKEN_ISSUER',
  'ERR_TOKEN_ALGORITHM',
  'ERR_TOKEN_SIGNATURE',
  'ERR_TOKEN_UNKNOWN_KEY',
  'ERR_TOKEN_CLAIMS',
  // an OAuth-issued token whose grant was revoked (or whose user may no longer act as its agent)
  'ERR_TOKEN_REVOKED',
  'ERR_JWKS_FETCH',
  // policy
  'ERR_POLICY_DENIED',
  'ERR_POLICY_ARGUMENTS',
  'ERR_RATE_LIMITED',
  // routing and upstreams
  'ERR_UNKNOWN_NAME',
  'ERR_NAME_COLLISION',
  'ERR_UPSTREAM_UNAVAILABLE',
  'ERR_UPSTREAM_TIMEOUT',
  'ERR_UPSTREAM_CLOSED',
  // a child's answer the proxy cannot read (a result its own revision forbids, an undecodable body)
  'ERR_UPSTREAM_BAD_RESULT',
  // launcher (mcpcp up/status/down/demo)
  'ERR_FLEET_NOT_RUNNING',
  'ERR_FLEET_RUNNING',
  'ERR_DEMO_MISMATCH',
  // channels and bots
  'ERR_CHANNEL_NOT_FOUND',
  'ERR_CHANNEL_CLOSED',
  'ERR_CHANNEL_FULL',
  'ERR_NOT_MEMBER',
  'ERR_NOT_ADMIN',
  'ERR_INVITE_INVALID',
  'ERR_BOT_NOT_FOUND',
  'ERR_VERIFY_FAILED',
  // the channels store's database (PostgreSQL) is unreachable or failed
  'ERR_STORE_UNAVAILABLE',
  'ERR_KIND_RESERVED',
  // bots and sandboxes (a failed bot hook; reported to the channel, never fatal to the server)
  'ERR_BOT_TIMEOUT',
  'ERR_BOT_MEMORY',
  'ERR_BOT_THROWN',
  'ERR_BOT_OUTPUT',
  'ERR_BOT_SOURCE',
  // a hook that failed outside the bot's code (not reproducible by a re-run; a verifier takes the server's word)
  'ERR_BOT_UNAVAILABLE',
  'ERR_BOT_WALL_CLOCK',
  // code runner (a program's own failure is a result with an exit_reason, never one of these)
  'ERR_RUNNER_UNAVAILABLE',
  // docker runner (servers/docker-runner)
  'ERR_DOCKER_UNAVAILABLE',
  'ERR_IMAGE_NOT_ALLOWED',
  'ERR_IMAGE_MISSING',
  'ERR_SESSION_NOT_FOUND',
  'ERR_RUNNER_BUSY',
  // generic
  'ERR_INVALID_ARGUMENT',
  'ERR_NOT_FOUND',
  'ERR_FORBIDDEN',
  'ERR_CONFLICT',
  'ERR_LIMIT',
  'ERR_INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export class McpcpError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'McpcpError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isMcpcpError(value: unknown, code?: ErrorCode): value is McpcpError {
  return value instanceof McpcpError && (code === undefined || value.code === code);
}
