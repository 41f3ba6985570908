// Bootstrap of a first-party server: flags, identity, HTTP (default) or stdio, the listening line, clean shutdown.
//   --port N (0)  --host H (127.0.0.1)  --data-dir DIR  --keys-dir DIR  --issuer URL  --child-id ID  --agent NAME  --stdio
//   --allowed-hosts a,b (Host names accepted beside localhost, for replicas behind a Service); /healthz and /readyz
//   --clock-tolerance S (30: how far a child token's times may be off this process's clock)
// Over HTTP the caller is verified from the proxy's internal child JWT (needs --keys-dir and --issuer); with --agent
// instead, every HTTP request is that agent (direct local use). Under --stdio the caller is --agent (default "local").
// When listening over HTTP it prints exactly one line to stdout: {"event":"listening","url":"http://127.0.0.1:PORT/mcp"}.
import { parseArgs } from 'node:util';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { jwksPath } from '../../auth/key-files.ts';
import { isMcpcpError, McpcpError } from '../../lib/errors.ts';
import { readRuntimeEnv } from '../../lib/env.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { createChildTokenAuthenticator, fixedCaller, type Authenticate } from './caller.ts';
import { startKitHttp, type ResourceUpdates, type ServerFactory } from './http.ts';

export interface KitContext {
  dataDir: string;
  keysDir: string | undefined;
  issuer: string | undefined;
  logger: Logger;
  /** Values of the server's own extra string flags (KitServerSpec.flags), by name. */
  flags: Readonly<Record<string, string | undefined>>;
}

export interface KitApp {
  factory: ServerFactory;
  /** Readiness for /readyz beyond serving (e.g. the database answers). */
  ready?: () => Promise<boolean>;
  /** Feeds 2026-era subscriptions/listen; mayHear decides which callers hear which URIs. */
  resourceUpdates?: ResourceUpdates;
  close(): Promise<void>;
}

export interface KitServerSpec {
  /** Default child id (the `aud` of internal tokens), e.g. "channels". */
  name: string;
  /** Extra string flags this server accepts (name → description), e.g. { 'bot-runner-url': '…' }. */
  flags?: Readonly<Record<string, string>>;
  /** 'sse' for a server whose tools stream progress to 2025-era sessions (see KitHttpOptions.sessionAnswers). */
  sessionAnswers?: 'json' | 'sse';
  create(ctx: KitContext): Promise<KitApp>;
}

export interface KitOptions {
  host?: string;
  port?: number;
  dataDir: string;
  keysDir?: string;
  issuer?: string;
  childId?: string;
  /** Direct mode identity; when set, no token is required. */
  agent?: string;
  /** Clock tolerance for child tokens, seconds (default 30). */
  clockToleranceSeconds?: number;
  logger?: Logger;
  /** Values for the server's extra flags. */
  flags?: Record<string, string | undefined>;
  /** Host names accepted beside localhost (--allowed-hosts a,b: replicas behind a Service). */
  allowedHosts?: readonly string[];
}

export interface RunningKitServer {
  url: string;
  app: KitApp;
  close(): Promise<void>;
}

function authenticatorFor(spec: KitServerSpec, options: KitOptions): Authenticate {
  if (options.agent !== undefined) return fixedCaller(options.agent);
  if (options.keysDir === undefined || options.issuer === undefined) {
    throw new McpcpError(
      'ERR_CONFIG_INVALID',
      'HTTP mode needs --keys-dir and --issuer (proxy child tokens), or --agent for direct use',
    );
  }
  return createChildTokenAuthenticator({
    issuer: options.issuer,
    child: options.childId ?? spec.name,
    jwks: { dir: options.keysDir },
    ...(options.clockToleranceSeconds === undefined
      ? {}
      : { clockToleranceSeconds: options.clockToleranceSeconds }),
  });
}

/** Starts the server over HTTP in this process (also what tests use). */
export async function startKitServer(spec: KitServerSpec, options: KitOptions): Promise<RunningKitServer> {
  const logger = options.logger ?? createLogger({ name: spec.name, level: readRuntimeEnv().logLevel });
  const authenticate = authenticatorFor(spec, options);
  const app = await spec.create({
    dataDir: options.dataDir,
    keysDir: options.keysDir,
    issuer: options.issuer,
    logger,
    flags: options.flags ?? {},
  });
  try {
    const http = await startKitHttp({
      factory: app.factory,
      authenticate,
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      logger,
      ...(app.resourceUpdates ? { resourceUpdates: app.resourceUpdates } : {}),
      ...(app.ready ? { ready: app.ready } : {}),
      ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
      ...(spec.sessionAnswers ? { sessionAnswers: spec.sessionAnswers } : {}),
      directLanes: readRuntimeEnv().directLanes,
    });
    return {
      url: http.url,
      app,
      async close() {
        await http.close();
        await app.close();
      },
    };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/**
 * CLI entry: parses flags, serves, prints the listening line, stops on SIGTERM/SIGINT. Bad flags or configuration end
 * the process with one stderr line and exit code 2; other startup failures with exit code 1.
 */
export async function runKitServer(
  spec: KitServerSpec,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  try {
    await serveFromFlags(spec, argv);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const usage =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ||
      (isMcpcpError(error) && error.code.startsWith('ERR_CONFIG'));
    process.stderr.write(`${spec.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(usage ? 2 : 1);
  }
}

async function serveFromFlags(spec: KitServerSpec, argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      'keys-dir': { type: 'string' },
      issuer: { type: 'string' },
      'child-id': { type: 'string' },
      agent: { type: 'string' },
      'allowed-hosts': { type: 'string' },
      'clock-tolerance': { type: 'string' },
      stdio: { type: 'boolean', default: false },
      ...Object.fromEntries(Object.keys(spec.flags ?? {}).map((name) => [name, { type: 'string' as const }])),
    },
    strict: true,
  });
  const flags = Object.fromEntries(
    Object.keys(spec.flags ?? {}).map((name) => [
      name,
      (values as Record<string, unknown>)[name] as string | undefined,
    ]),
  );
  const env = readRuntimeEnv();
  const logger = createLogger({ name: spec.name, level: env.logLevel });
  const dataDir = values['data-dir'] ?? `${env.home}/data/${spec.name}`;
  let close: () => Promise<void>;
  if (values.stdio) {
    const app = await spec.create({
      dataDir,
      keysDir: values['keys-dir'],
      issuer: values.issuer,
      logger,
      flags,
    });
    const caller = { agent: values.agent ?? 'local' };
    const handle = serveStdio(() => app.factory(caller), {
      onerror: (error) => logger.warn({ err: error }, 'stdio error'),
    });
    close = async () => {
      await handle.close();
      await app.close();
    };
    logger.info({ agent: caller.agent }, 'serving on stdio');
  } else {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new McpcpError('ERR_CONFIG_INVALID', `invalid --port ${values.port}`);
    }
    const tolerance = values['clock-tolerance'];
    const clockToleranceSeconds = tolerance === undefined ? undefined : Number(tolerance);
    if (
      clockToleranceSeconds !== undefined &&
      !(Number.isInteger(clockToleranceSeconds) && clockToleranceSeconds >= 0 && clockToleranceSeconds <= 300)
    ) {
      throw new McpcpError('ERR_CONFIG_INVALID', `invalid --clock-tolerance ${tolerance} (0-300 seconds)`);
    }
    const keysDir = values['keys-dir'];
    if (keysDir !== undefined) logger.debug({ jwks: jwksPath(keysDir) }, 'verifying child tokens');
    const server = await startKitServer(spec, {
      host: values.host,
      port,
      dataDir,
      ...(keysDir !== undefined ? { keysDir } : {}),
      ...(values.issuer !== undefined ? { issuer: values.issuer } : {}),
      ...(values['child-id'] !== undefined ? { childId: values['child-id'] } : {}),
      ...(values.agent !== undefined ? { agent: values.agent } : {}),
      ...(values['allowed-hosts'] !== undefined
        ? { allowedHosts: values['allowed-hosts'].split(',').filter((name) => name !== '') }
        : {}),
      ...(clockToleranceSeconds !== undefined ? { clockToleranceSeconds } : {}),
      logger,
      flags,
    });
    close = () => server.close();
    process.stdout.write(`${JSON.stringify({ event: 'listening', url: server.url })}\n`);
    logger.info({ url: server.url }, 'listening');
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 3_000);
    force.unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
