// The zod schema of mcpcp.yaml's `oauth` section: who may sign in to the built-in authorization server and as
// which agents, which clients may use it, its scopes and token lifetimes. Shape and defaults only; the checks
// that need the rest of the config (agents named, issuer, keys) are in config/oauth-checks.ts.
// It must not read files, the environment or the clock.
import { z } from 'zod';

/** User names are agent-like names: they end up in audit lines and in the `mcpcp_user` claim. */
export const userNamePattern = /^[a-zA-Z0-9_.-]{1,64}$/;
/** OAuth scope names (RFC 6749 §3.3 scope-token, narrowed to what reads well on a consent page). */
export const scopeNamePattern = /^[a-zA-Z0-9_.:-]{1,64}$/;

/** `scrypt$N$r$p$salt$hash` (base64url), as `mcpcp users add` writes it (auth/password.ts). */
const passwordHash = z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{32,}$/, {
  error:
    'passwordHash must be a hash written by `mcpcp users add NAME` (scrypt$N$r$p$salt$hash), never a password',
});

const userSchema = z.strictObject({
  passwordHash,
  agents: z
    .array(z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, { error: 'agent names match ^[a-zA-Z0-9_.-]{1,64}$' }))
    .min(1)
    .describe('The agents this person may act as; the consent page lets them choose one per connection.'),
  operator: z
    .boolean()
    .default(false)
    .describe(
      "May open the whole web console by signing in there with this password; otherwise the console shows only the channels of the person's agents.",
    ),
  description: z.string().optional(),
});

const perMinute = z.strictObject({
  requestsPerMinute: z.int().positive(),
  burst: z.int().positive().optional(),
});

const clientsSchema = z.strictObject({
  metadataDocuments: z
    .boolean()
    .default(true)
    .describe('Accept Client ID Metadata Documents: a client_id that is an https URL of its own metadata.'),
  allowedHosts: z
    .array(z.string().min(1))
    .optional()
    .describe(
      'Host names whose metadata documents are accepted (exact, or "*.example.com"). Default: any public host.',
    ),
  registration: z
    .boolean()
    .default(true)
    .describe('Dynamic Client Registration (RFC 7591) at /oauth/register, for clients without CIMD.'),
  registrationRateLimit: perMinute
    .prefault({ requestsPerMinute: 10 })
    .describe('Registrations per minute per client address.'),
  fetchTimeoutMs: z.int().min(100).max(10_000).default(2000).describe('Metadata document fetch timeout.'),
  maxDocumentBytes: z.int().min(1024).max(1_048_576).default(16_384).describe('Metadata document size cap.'),
});

const developmentSchema = z
  .strictObject({
    allowLoopbackClientIds: z
      .boolean()
      .default(false)
      .describe(
        'Development only: fetch client metadata documents from loopback addresses (127.0.0.0/8, ::1). Private, link-local and other special-use addresses stay refused.',
      ),
    trustedCaFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Development only: a PEM file of extra CA certificates trusted when fetching metadata documents (a local test CA). Relative to the config file.',
      ),
  })
  .describe(
    'Settings that weaken SSRF protection for local development and tests. Never set them in production.',
  );

const scopeSchema = z.strictObject({
  description: z.string().min(1),
  allow: z
    .array(z.string().min(1))
    .min(1)
    .describe(
      'Globs over qualified tool and prompt names and resource URIs (as in policy rules) that this scope lets a client call. The policy still decides what the agent may use.',
    ),
});

const lifetimesSchema = z.strictObject({
  accessTokenSeconds: z.int().min(60).max(86_400).default(600),
  refreshTokenSeconds: z.int().min(300).max(31_536_000).default(2_592_000),
  authorizationCodeSeconds: z.int().min(10).max(600).default(60),
  grantSeconds: z
    .int()
    .min(300)
    .max(31_536_000)
    .default(7_776_000)
    .describe('How long a consent lasts; refreshing never extends it.'),
  loginSessionSeconds: z.int().min(60).max(2_592_000).default(86_400),
});

const loginLimitSchema = z.strictObject({
  attempts: z.int().positive().default(5),
  windowSeconds: z.int().positive().default(300),
});

export const oauthSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    store: z
      .string()
      .min(1)
      .default('.mcpcp/oauth.db')
      .describe(
        'Where clients, grants and refresh tokens (hashed) live: a SQLite file relative to the config file, or postgres://USER@HOST/DB[?schema=NAME] (schema default mcpcp_oauth; password from PGPASSWORD) shared by proxy replicas.',
      ),
    users: z
      .record(
        z.string().regex(userNamePattern, { error: `user names must match ${String(userNamePattern)}` }),
        userSchema,
      )
      .default({})
      .describe('People who may sign in. Add one with `mcpcp users add NAME --agent AGENT`.'),
    clients: clientsSchema.prefault({}),
    scopes: z
      .record(
        z.string().regex(scopeNamePattern, { error: `scope names must match ${String(scopeNamePattern)}` }),
        scopeSchema,
      )
      .default({
        mcp: { description: 'Use the tools, prompts and resources the agent is allowed', allow: ['**'] },
      })
      .describe(
        'Scopes a client may ask for. A call on a name no granted scope covers gets 403 insufficient_scope naming the scopes it needs.',
      ),
    lifetimes: lifetimesSchema.prefault({}),
    loginRateLimit: loginLimitSchema
      .prefault({})
      .describe('Failed sign-ins allowed per user name and per client address in the window.'),
    development: developmentSchema.prefault({}),
  })
  .describe('The built-in OAuth 2.1 authorization server (issuer = proxy.publicUrl).');

export type OAuthConfigInput = z.input<typeof oauthSchema>;
