// Who is calling a first-party server. Behind the proxy: the agent named in the proxy's internal child JWT
// (auth/internal.ts). Direct use (stdio, or HTTP started with --agent): one configured local identity.
// It must not trust any header other than the verified Bearer token.
import { createChildTokenVerifier } from '../../auth/internal.ts';
import type { JwksOption } from '../../auth/jwks-source.ts';
import { McpcpError } from '../../lib/errors.ts';

export interface Caller {
  agent: string;
}

/** Resolves the caller of one HTTP request; throws McpcpError ERR_TOKEN_* when it cannot. */
export type Authenticate = (request: Request) => Promise<Caller>;

export function createChildTokenAuthenticator(options: {
  issuer: string;
  child: string;
  jwks: JwksOption;
  /** Default 30 s (auth/verify.ts). */
  clockToleranceSeconds?: number;
}): Authenticate {
  const verifier = createChildTokenVerifier(options);
  return async (request) => {
    const header = request.headers.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match === null) throw new McpcpError('ERR_TOKEN_MISSING', 'missing Bearer token');
    const principal = await verifier.verify(match[1]!);
    return { agent: principal.agent };
  };
}

/** Every request is this agent. For stdio and explicit direct mode only (loopback). */
export function fixedCaller(agent: string): Authenticate {
  const caller = Object.freeze({ agent });
  return () => Promise.resolve(caller);
}
