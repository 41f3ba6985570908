// `mcpcp up`: runs the fleet in the foreground until SIGINT/SIGTERM or `mcpcp down`.
// With no --config and no ./mcpcp.yaml it runs the embedded default fleet from the data folder.
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { flushCompileCache } from 'node:module';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadSigner } from '../../auth/keys.ts';
import { issueAgentToken } from '../../auth/tokens.ts';
import { loadConfig } from '../../config/load.ts';
import type { McpcpConfig } from '../../config/schema.ts';
import { readRuntimeEnv } from '../../lib/env.ts';
import { isMcpcpError, McpcpError } from '../../lib/errors.ts';
import { AUDIT_BUFFER_BYTES, createLogger } from '../../lib/log.ts';
import type { Register } from '../cli.ts';
import { dockerNotice } from '../docker-notice.ts';
import { formatChildLine } from '../../supervisor/child-log.ts';
import { assertNoFleet } from '../fleet/admin-socket.ts';
import { ensureDefaultFleet } from '../fleet/default-fleet.ts';
import { reservePort } from '../fleet/port-reservation.ts';
import type { Fleet, FleetEvent, FleetStatus } from '../fleet/fleet.ts';
import { renderProblems, renderProgress, renderTable } from '../fleet/render.ts';

interface UpFlags {
  config?: string;
  dataDir?: string;
  json?: boolean;
  host?: string;
  port?: string;
  logDir?: string;
  drainTimeout?: string;
  logLevel?: string;
}

const tokenTtlSeconds = 24 * 60 * 60;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new McpcpError('ERR_INVALID_ARGUMENT', `invalid --port ${value} (0-65535)`);
  }
  return port;
}

/** A port free right now on host (the kernel's pick for port 0). */
async function freePort(host: string): Promise<number> {
  const reservation = await reservePort(host, 0);
  await reservation.release();
  return reservation.port;
}

/** Writes `<tokensDir>/<agent>.jwt` (0600) for every agent the config lists, for the running proxy's audience. */
async function writeAgentTokens(
  config: McpcpConfig,
  status: FleetStatus,
  tokensDir: string,
): Promise<string[]> {
  await mkdir(tokensDir, { recursive: true, mode: 0o700 });
  const signer = await loadSigner(config.proxy.keysDir);
  const written: string[] = [];
  for (const agent of Object.keys(config.agents)) {
    const token = await issueAgentToken(signer, {
      issuer: status.proxy.issuer,
      audience: status.proxy.resource,
      agent,
      ttlSeconds: tokenTtlSeconds,
    });
    const file = join(tokensDir, `${agent}.jwt`);
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    written.push(file);
  }
  return written;
}

/** How the user runs this CLI, for hints: `npm run mcpcp --` from a clone, else `mcpcp`. */
function cliName(): string {
  return readRuntimeEnv().viaNpm ? 'npm run mcpcp --' : 'mcpcp';
}

/** A busy proxy port is the usual first-run stumble: say what to do about it. */
function explainStartFailure(
  error: unknown,
  configPort: number,
  flagPort: number | undefined,
  configFile: string,
): unknown {
  if (!isMcpcpError(error, 'ERR_CONFLICT') || !error.message.includes('EADDRINUSE')) return error;
  const busy = flagPort ?? configPort;
  return new McpcpError(
    'ERR_CONFLICT',
    `port ${busy} is already in use (another fleet or program listens there). Stop it, or pick another port: ` +
      `\`${cliName()} up --port ${busy === 9100 ? 9101 : 9100}\` (0 = any free port), or set proxy.listen.port in ${configFile}`,
    { cause: error },
  );
}

async function runUp(flags: UpFlags): Promise<void> {
  const json = flags.json === true;
  const dataDir = flags.dataDir ?? readRuntimeEnv().home;
  let port = parsePort(flags.port);
  const say = (text: string) => process.stdout.write(`${text}\n`);
  const emit = (event: FleetEvent | Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify(event)}\n`);

  // Refused before anything is written or printed (startFleet holds the lock for good).
  await assertNoFleet(dataDir);
  let configFile = flags.config ?? ((await exists('mcpcp.yaml')) ? 'mcpcp.yaml' : undefined);
  let embedded = false;
  let tokensDir: string | undefined;
  if (configFile === undefined) {
    // A first run writes the port it will listen on (a free one for --port 0), so the written issuer and
    // audience are where the proxy really is.
    const fresh = !(await exists(join(dataDir, 'mcpcp.yaml')));
    if (fresh && port === 0) port = await freePort(flags.host ?? '127.0.0.1');
    const files = await ensureDefaultFleet(dataDir, port === undefined ? {} : { port });
    embedded = true;
    configFile = files.configFile;
    tokensDir = files.tokensDir;
    const shown = relative(process.cwd(), files.configFile) || files.configFile;
    if (json) emit({ event: 'default-config', configFile: files.configFile, created: files.created });
    else if (files.created.includes('config')) {
      say(`Wrote the default config to ${shown} (keys in ${files.keysDir}); copy it to edit the fleet:\n`);
      const text = await readFile(files.configFile, 'utf8');
      say(`${text.trimEnd().replace(/^/gm, '    ')}\n`);
    } else say(`Using the default config ${shown}.`);
  }
  const config = await loadConfig(configFile);
  const docker = await dockerNotice(config, { embedded, configFile });
  if (docker !== undefined) {
    if (json) emit(docker);
    else say(docker.message);
  }
  // Human mode keeps the terminal for progress and child lines; the proxy's structured logs only when asked.
  const level = flags.logLevel ?? (json ? readRuntimeEnv().logLevel : 'error');
  const logger = createLogger({ name: 'mcpcp', level, bufferBytes: AUDIT_BUFFER_BYTES });

  if (!json) say(`Starting ${config.servers.length} server(s)…`);
  let ready = false;
  let fleet: Fleet;
  // Listened for from here on, so a signal that lands while the fleet starts (or just after it says it is ready)
  // stops it cleanly once it is up, instead of killing this process with children mid-start. A second one, with
  // the listener gone, ends the process at once (the children's guards take them down).
  const early: { fleet?: Fleet; signal?: NodeJS.Signals } = {};
  const onSignal = (signal: NodeJS.Signals): void => {
    if (early.fleet !== undefined) void early.fleet.stop(signal);
    else {
      early.signal = signal;
      if (!json) say(`${signal}: stopping once the servers have started (again to stop at once)…`);
    }
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const unlisten = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  try {
    // The fleet (proxy, SDK, servers) loads only when a fleet starts, so every other command starts fast.
    const { startFleet } = await import('../fleet/fleet.ts');
    fleet = await startFleet({
      config,
      configFile: resolve(configFile),
      dataDir,
      host: flags.host,
      port,
      logDir: flags.logDir,
      drainTimeoutMs: flags.drainTimeout === undefined ? undefined : Number(flags.drainTimeout),
      logger,
      onEvent: (event) => {
        if (json) emit(event);
        else if (event.event === 'child-log') process.stderr.write(`${formatChildLine(event)}\n`);
        else if (event.event === 'child-state' && !ready)
          return; // start-up progress has its own lines
        else {
          const line = renderProgress(event);
          if (line !== undefined) say(line);
        }
      },
    });
  } catch (error) {
    unlisten();
    throw explainStartFailure(error, config.proxy.listen.port, port, configFile);
  }
  early.fleet = fleet;
  if (early.signal !== undefined) {
    await fleet.stop(early.signal);
    await fleet.stopped;
    unlisten();
    return;
  }
  ready = true;
  // Node writes the compile cache (launcher/bin/start-up.js) at exit; write it now as well, so a fleet that
  // is killed rather than stopped still starts warm, without the type stripper, next time.
  flushCompileCache();
  const status = fleet.status();
  const tokens = embedded && tokensDir ? await writeAgentTokens(config, status, tokensDir) : [];
  if (json) {
    emit({
      event: 'connect',
      mcpUrl: status.proxy.mcpUrl,
      tokens,
      ...(config.proxy.console ? { consoleUrl: `${status.proxy.url}/console` } : {}),
    });
  } else {
    const problems = renderProblems(status.servers);
    say('');
    say(renderTable(status.servers));
    if (problems) say(`\nProblems:\n${problems}`);
    say('');
    say(`Agents connect to: ${status.proxy.mcpUrl}`);
    const dirFlag = flags.dataDir === undefined ? '' : ` --data-dir ${flags.dataDir}`;
    const cli = cliName();
    if (tokens.length > 0)
      say(`Demo agent tokens: ${tokens.map((file) => relative(process.cwd(), file) || file).join(', ')}`);
    // The token command asks this fleet for its issuer and audience over the data folder's admin socket.
    else say(`Issue agent tokens with: ${cli} token issue --agent NAME${dirFlag}`);
    if (config.proxy.console)
      say(
        `Console: ${status.proxy.url}/console (sign in with the token from \`${cli} console token${dirFlag}\`)`,
      );
    say(`Next: ${cli} demo${dirFlag}  ·  ${cli} status${dirFlag}  ·  ${cli} down${dirFlag} (or Ctrl-C)`);
  }

  await fleet.stopped;
  unlisten();
}

export const registerUp: Register = (program: Command) => {
  program
    .command('up')
    .description('start the fleet (children + proxy) and keep it running until Ctrl-C or `mcpcp down`')
    .option(
      '--config <file>',
      'fleet config (default: ./mcpcp.yaml, else the embedded default in the data folder)',
    )
    .option(
      '--data-dir <dir>',
      'data folder for the admin socket, default config, keys and tokens (default: .mcpcp)',
    )
    .option('--host <host>', 'override proxy.listen.host')
    .option('--port <port>', 'override proxy.listen.port (0 = any free port)')
    .option('--log-dir <dir>', 'also write each launched child’s output to <dir>/<id>.log')
    .option(
      '--drain-timeout <ms>',
      'on stop, how long in-flight calls may run before connections are cut (default 10000)',
    )
    .option(
      '--log-level <level>',
      'level of the proxy’s JSON logs on stderr (default: error; with --json: MCPCP_LOG_LEVEL or info)',
    )
    .option('--json', 'JSON-lines events on stdout instead of progress text')
    .action((flags: UpFlags) => runUp(flags));
};
