// The zod schema of mcpcp.yaml: shape, defaults and cross-field checks, and the typed result.
// It must not read files, the environment or the clock; config/load.ts does I/O and path resolution.
import { z } from 'zod';
import { checkReferences } from './cross-checks.ts';
import { checkOAuth } from './oauth-checks.ts';
import { oauthSchema } from './oauth-schema.ts';

export const serverIdPattern = /^[a-z][a-z0-9-]{0,31}$/;
/** '' (empty) means "no prefix": the server's names are exposed unchanged. */
export const namespacePattern = /^[a-zA-Z0-9_-]{0,32}$/;
/** Agent, group and rule names. */
export const namePattern = /^[a-zA-Z0-9_.-]{1,64}$/;

const name = (what: string) =>
  z.string().regex(namePattern, { error: `${what} must match ${String(namePattern)}` });

const httpUrl = (what: string) =>
  z.string().refine((value) => isHttpUrl(value), { error: `${what} must be an http(s) URL` });

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const port = z.int().min(0).max(65535);

/** The proxy's port when the config names none; the embedded default fleet writes it too. */
export const defaultProxyPort = 9003;

/** Env values may be written as YAML numbers or booleans; children always get strings. */
const envMap = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'environment variable names must be identifiers' }),
    z.union([z.string(), z.number(), z.boolean()]).transform((value) => String(value)),
  )
  .default({});

const listenSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(defaultProxyPort),
  })
  .describe('Address the proxy listens on. Port 0 picks a free port (tests).');

const limitsSchema = z.strictObject({
  maxBodyBytes: z.int().positive().default(1_048_576),
  callTimeoutMs: z.int().positive().default(60_000),
  sessionIdleMs: z
    .int()
    .positive()
    .default(1_800_000)
    .describe('A 2025-era agent session with no request for this long is closed.'),
  agentIdleMs: z
    .int()
    .positive()
    .default(600_000)
    .describe(
      'An agent with no session, listen stream or call for this long is let go: the sessions the proxy holds with children on its behalf are ended.',
    ),
  internalTokenTtlSeconds: z
    .int()
    .min(2)
    .max(3600)
    .default(60)
    .describe(
      'Lifetime of the internal JWTs the proxy and launcher send to first-party children; a fresh one goes with every request.',
    ),
});

const proxySchema = z.strictObject({
  listen: listenSchema.prefault({}),
  publicUrl: z
    .string()
    .refine((value) => isOriginUrl(value), {
      error:
        'publicUrl must be an http(s) URL without path, query or fragment (e.g. https://mcp.example.com)',
    })
    .optional()
    .describe(
      'Public base URL. The canonical resource (token audience) is publicUrl + "/mcp". Default: http://<listen.host>:<listen.port>.',
    ),
  issuer: httpUrl('issuer').optional().describe('Token issuer (iss). Default: publicUrl.'),
  keysDir: z
    .string()
    .min(1)
    .default('.mcpcp/keys')
    .describe('Folder with jwks.json and private-<kid>.pem, relative to the config file.'),
  jwksUrl: httpUrl('jwksUrl')
    .optional()
    .describe("Remote JWKS used to verify tokens instead of keysDir's jwks.json."),
  allowedOrigins: z
    .array(z.string().min(1))
    .optional()
    .describe('Origins browsers may call from (DNS-rebinding protection).'),
  limits: limitsSchema.prefault({}),
  replicas: z
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe(
      'Proxy replicas serving this config behind one load balancer. Each enforces 1/replicas of every rate limit, so together they never allow more than the limit (no shared counter, no round trip per call).',
    ),
  toolPins: z
    .enum(['hide', 'warn', 'off'])
    .default('hide')
    .describe(
      'Tool-definition pinning: a tool whose definition changed since it was first seen or approved is hidden from agents until approved (hide), only flagged (warn), or not tracked (off).',
    ),
  console: z
    .boolean()
    .default(true)
    .describe('Serve the web console at /console (operators sign in with `mcpcp console token`).'),
});

function isOriginUrl(value: string): boolean {
  if (!isHttpUrl(value)) return false;
  const url = new URL(value);
  return (
    (url.pathname === '/' || url.pathname === '') && url.search === '' && url.hash === '' && !url.username
  );
}

const restartSchema = z.strictObject({
  policy: z.enum(['on-failure', 'always', 'never']).default('on-failure'),
  maxRestarts: z.int().min(0).default(5),
  windowMs: z.int().positive().default(60_000),
  backoffMs: z.int().min(0).default(250),
  maxBackoffMs: z.int().min(0).default(10_000),
});

/** Fields every server has, whatever its transport. */
const serverCommon = {
  id: z.string().regex(serverIdPattern, { error: `server id must match ${String(serverIdPattern)}` }),
  namespace: z
    .string()
    .regex(namespacePattern, { error: `namespace must match ${String(namespacePattern)}` })
    .optional()
    .describe('Prefix of exposed names (<namespace>_<name>). Default: the server id. "" means no prefix.'),
  description: z.string().optional(),
  firstParty: z
    .boolean()
    .default(false)
    .describe('true: the proxy sends a short-lived internal JWT (aud = server id) to this server.'),
  readyTimeoutMs: z.int().positive().default(15_000),
  restart: restartSchema.prefault({}),
};

const processFields = {
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: envMap,
  cwd: z
    .string()
    .min(1)
    .default('.')
    .describe(
      'Working directory, relative to the config file (loading makes it absolute). Default: its folder.',
    ),
};

const stdioServerSchema = z.strictObject({
  ...serverCommon,
  transport: z.literal('stdio'),
  ...processFields,
});

const httpStartSchema = z
  .strictObject({ ...processFields, port: port.optional() })
  .describe('How the launcher starts this server; omit for a server that runs elsewhere.');

const httpServerSchema = z.strictObject({
  ...serverCommon,
  transport: z.literal('http'),
  url: httpUrl('url').describe(
    'Streamable HTTP endpoint, e.g. http://127.0.0.1:3001/mcp. With `start`, port 0 means: take the URL from the child\'s {"event":"listening"} line.',
  ),
  start: httpStartSchema.optional(),
  protocol: z
    .enum(['auto', '2025-11-25'])
    .default('auto')
    .describe(
      "The MCP revision the proxy speaks to this server (agents keep their own). auto: the newest both support (2026-07-28 with SDK v2 servers). 2025-11-25: one session per agent, for servers that build a server object per 2026-era request (MCPCP's own children).",
    ),
});

const serverSchema = z
  .discriminatedUnion('transport', [stdioServerSchema, httpServerSchema], {
    error: (issue) => (issue.code === 'invalid_union' ? 'transport must be "stdio" or "http"' : undefined),
  })
  .transform(({ id, namespace, ...rest }) => ({ id, namespace: namespace ?? id, ...rest }));

const jsonPrimitive = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const argumentConstraintSchema = z
  .strictObject({
    enum: z.array(jsonPrimitive).min(1).optional(),
    const: jsonPrimitive.optional(),
    pattern: z
      .string()
      .refine((value) => isRegExp(value), { error: 'pattern must be a valid regular expression' })
      .optional()
      .describe('Unanchored, as in JSON Schema: write ^…$ to match the whole value.'),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    minLength: z.int().min(0).optional(),
    maxLength: z.int().min(0).optional(),
  })
  .describe('JSON-Schema-like narrowing of one argument. A constrained argument must be present.');

function isRegExp(value: string): boolean {
  try {
    new RegExp(value, 'u');
    return true;
  } catch {
    return false;
  }
}

const rateLimitSchema = z
  .strictObject({
    requestsPerMinute: z.int().positive(),
    burst: z.int().positive().optional().describe('Bucket size. Default: requestsPerMinute.'),
  })
  .transform((limit) => ({
    requestsPerMinute: limit.requestsPerMinute,
    burst: limit.burst ?? limit.requestsPerMinute,
  }));

const subjectSchema = z
  .string()
  .refine((value) => value === '*' || namePattern.test(groupOf(value) ?? value), {
    error: `subject must be an agent name, "group:<name>" or "*" (names match ${String(namePattern)})`,
  });

function groupOf(subject: string): string | undefined {
  return subject.startsWith('group:') ? subject.slice('group:'.length) : undefined;
}

const ruleSchema = z.strictObject({
  id: name('rule id'),
  description: z.string().optional(),
  subjects: z.array(subjectSchema).min(1).describe('Agent names, "group:<name>" or "*" (every agent).'),
  servers: z
    .array(z.string().min(1))
    .min(1)
    .describe('Server ids this rule covers, or "*" for every server.'),
  allow: z
    .array(z.string().min(1))
    .default([])
    .describe('Globs over qualified names (tools, prompts) or resource URIs.'),
  deny: z.array(z.string().min(1)).default([]).describe('Globs; a matching deny beats every allow.'),
  arguments: z
    .record(
      z
        .string()
        .regex(/^[a-zA-Z0-9_-]{1,64}$/, { error: 'expected a qualified tool name (<namespace>_<tool>)' }),
      z.record(z.string().min(1), argumentConstraintSchema),
    )
    .default({})
    .describe('Per qualified tool name: argument name → constraint.'),
  rateLimit: rateLimitSchema.optional(),
});

const policySchema = z.strictObject({
  rules: z.array(ruleSchema).default([]),
});

const configObjectSchema = z.strictObject({
  proxy: proxySchema.prefault({}),
  servers: z.array(serverSchema).default([]),
  groups: z.record(name('group name'), z.array(name('agent name'))).default({}),
  agents: z
    .record(name('agent name'), z.strictObject({ description: z.string().optional() }).prefault({}))
    .default({}),
  policy: policySchema.prefault({}),
  oauth: oauthSchema.optional(),
});

type ConfigObject = z.output<typeof configObjectSchema>;

/** Fills the defaults that depend on other fields (publicUrl, issuer). */
function fillDerived(config: ConfigObject) {
  const { listen, publicUrl: givenUrl, issuer, ...rest } = config.proxy;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const publicUrl = (givenUrl ?? `http://${host}:${listen.port}`).replace(/\/+$/, '');
  return { ...config, proxy: { listen, publicUrl, issuer: issuer ?? publicUrl, ...rest } };
}

export const mcpcpConfigSchema = configObjectSchema
  .superRefine(checkReferences)
  .superRefine(checkOAuth)
  .transform(fillDerived);

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The parsed, defaulted, deep-frozen config every module receives. */
export type McpcpConfig = DeepReadonly<z.output<typeof mcpcpConfigSchema>>;
/** What a user may write (defaults optional). */
export type McpcpConfigInput = z.input<typeof mcpcpConfigSchema>;
export type ProxyConfig = McpcpConfig['proxy'];
export type ServerConfig = McpcpConfig['servers'][number];
export type StdioServerConfig = Extract<ServerConfig, { transport: 'stdio' }>;
export type HttpServerConfig = Extract<ServerConfig, { transport: 'http' }>;
export type PolicyRule = McpcpConfig['policy']['rules'][number];
export type ArgumentConstraint = DeepReadonly<z.output<typeof argumentConstraintSchema>>;
export type RateLimit = NonNullable<PolicyRule['rateLimit']>;
export type OAuthConfig = NonNullable<McpcpConfig['oauth']>;

/** The canonical resource URL of the proxy's MCP endpoint: the token audience. */
export function canonicalResource(config: { readonly proxy: { readonly publicUrl: string } }): string {
  return `${config.proxy.publicUrl.replace(/\/+$/, '')}/mcp`;
}
