// `mcpcp token issue|verify`: operator-issued agent tokens, and a check that says why a token is refused.
import { loadSigner } from '../../auth/keys.ts';
import { issueAgentToken, parseTtl } from '../../auth/tokens.ts';
import { verifyAgentToken, type JwksOption } from '../../auth/verify.ts';
import { McpcpError, isMcpcpError } from '../../lib/errors.ts';
import {
  knownAgents,
  requireIssuerAndAudience,
  resolveAuthSettings,
  withUsageErrors,
  type AuthFlags,
} from '../auth-settings.ts';
import type { Register } from '../cli.ts';

interface TokenFlags extends AuthFlags {
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerToken: Register = (program) => {
  const token = program.command('token').description('issue and check agent tokens (RS256 JWTs)');

  token
    .command('issue')
    .description('print a signed agent token (just the JWT, or JSON with --json)')
    .requiredOption('--agent <name>', 'agent name (the token subject)')
    .option('--ttl <ttl>', 'lifetime: 3600, 3600s, 30m, 1h, 2d', '1h')
    .option('--scope <scopes>', 'scopes, comma-separated; repeatable', collect, [])
    .option(
      '--config <file>',
      'config file (default: ./mcpcp.yaml, else the fleet running in the data folder, else DATA_DIR/mcpcp.yaml)',
    )
    .option('--data-dir <dir>', 'data folder of the fleet (default: .mcpcp)')
    .option('--issuer <url>', 'token issuer (default: the running fleet’s, else proxy.issuer of the config)')
    .option(
      '--audience <url>',
      'canonical resource URL (default: the running fleet’s, else proxy.publicUrl + /mcp)',
    )
    .option('--keys-dir <dir>', 'key folder (default: proxy.keysDir of the config, else .mcpcp/keys)')
    .option('--json', 'print {token, agent, expiresAt, audience, …}')
    .action(
      withUsageErrors(async (flags: TokenFlags & { agent: string; ttl: string; scope: string[] }) => {
        const ttlSeconds = parseTtl(flags.ttl);
        const settings = await resolveAuthSettings(flags);
        const { issuer, audience } = requireIssuerAndAudience(settings);
        const known = knownAgents(settings.config);
        if (settings.config !== undefined && !known.has(flags.agent)) {
          process.stderr.write(`mcpcp: warning: agent ${flags.agent} is not listed in the config\n`);
        }
        const signer = await loadSigner(settings.keysDir);
        const now = new Date();
        const jwt = await issueAgentToken(signer, {
          issuer,
          audience,
          agent: flags.agent,
          ttlSeconds,
          scope: flags.scope,
          now,
        });
        const expiresAt = new Date(Math.floor(now.getTime() / 1000) * 1000 + ttlSeconds * 1000);
        const out = flags.json
          ? JSON.stringify({
              token: jwt,
              agent: flags.agent,
              expiresAt: expiresAt.toISOString(),
              audience,
              issuer,
              kid: signer.kid,
              scopes: flags.scope.flatMap((item) => item.split(/[\s,]+/)).filter(Boolean),
            })
          : jwt;
        process.stdout.write(`${out}\n`);
      }),
    );

  token
    .command('verify')
    .description('check a token like the proxy does; exit 2 with the error code when it is refused')
    .argument('[token]', 'the JWT; "-" or nothing reads it from stdin')
    .option(
      '--config <file>',
      'config file (default: ./mcpcp.yaml, else the fleet running in the data folder, else DATA_DIR/mcpcp.yaml)',
    )
    .option('--data-dir <dir>', 'data folder of the fleet (default: .mcpcp)')
    .option(
      '--issuer <url>',
      'expected issuer (default: the running fleet’s, else proxy.issuer of the config)',
    )
    .option(
      '--audience <url>',
      'expected audience (default: the running fleet’s, else proxy.publicUrl + /mcp)',
    )
    .option('--keys-dir <dir>', 'key folder whose jwks.json verifies (default: proxy.keysDir)')
    .option('--jwks-url <url>', 'verify against a remote JWKS instead of the key folder')
    .option('--json', 'print the principal (or the refusal) as JSON')
    .action(
      withUsageErrors(async (arg: string | undefined, flags: TokenFlags) => {
        const text = arg === undefined || arg === '-' ? await readStdin() : arg;
        const settings = await resolveAuthSettings(flags);
        const { issuer, audience } = requireIssuerAndAudience(settings);
        const jwks: JwksOption =
          settings.jwksUrl === undefined ? { dir: settings.keysDir } : { url: settings.jwksUrl };
        try {
          const principal = await verifyAgentToken(text.trim(), { issuer, audience, jwks });
          const expiresAt = new Date(principal.expiresAt * 1000).toISOString();
          process.stdout.write(
            flags.json
              ? `${JSON.stringify({ valid: true, ...principal, expiresAt })}\n`
              : `valid: agent ${principal.agent}, scopes [${principal.scopes.join(' ')}], expires ${expiresAt}\n`,
          );
        } catch (error) {
          if (flags.json && isMcpcpError(error)) {
            process.stdout.write(
              `${JSON.stringify({ valid: false, code: error.code, message: error.message })}\n`,
            );
          }
          throw error;
        }
      }),
    );
};

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new McpcpError('ERR_TOKEN_MISSING', 'no token given (pass it or pipe it in)');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
