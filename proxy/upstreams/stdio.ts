// A stdio child, run under the shared supervisor (`supervisor/`) (ARCHITECTURE.md decision 9): guarded spawn in its own
// process group (dies with us even on SIGKILL), readiness by handshake + tools/list, ping liveness, restart with
// backoff and crash-loop detection, the stdin → SIGTERM → SIGKILL ladder, `[id]` log lines and a stderr tail.
// This module only maps the supervisor onto `Upstream`: one process serves all agents, and each generation's
// client is built here so the gateway's hooks (relay, attribution) see every child request and notification.
import type { Client } from '@modelcontextprotocol/client';
import { join } from 'node:path';
import type { StdioServerConfig } from '../../config/schema.ts';
import { McpcpError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { formatChildLine, type ChildLogLine } from '../../supervisor/child-log.ts';
import { supervise, type ChildStatus } from '../../supervisor/supervisor.ts';
import { createUpstreamClient } from './client.ts';
import type { Upstream, UpstreamConnection, UpstreamHooks, UpstreamPhase, UpstreamStatus } from './types.ts';

/** How the proxy supervises its stdio children (all optional). */
export interface StdioSupervision {
  /** Every child output line and supervisor note; default: the proxy's logger (`[id] line`). */
  readonly onLog?: (entry: ChildLogLine) => void;
  /** Per-child log files `<logDir>/<id>.log`. */
  readonly logDir?: string;
  /** Liveness ping (default every 10 s, 5 s timeout); false disables. */
  readonly ping?: { readonly intervalMs: number; readonly timeoutMs: number } | false;
}

export interface StdioUpstreamOptions {
  config: StdioServerConfig;
  hooks: UpstreamHooks;
  logger: Logger;
  supervision?: StdioSupervision;
}

export function createStdioUpstream(options: StdioUpstreamOptions): Upstream {
  const { config, hooks } = options;
  const supervision = options.supervision ?? {};
  const logger = options.logger.child({ upstream: config.id });
  let generation = 0;
  /** The connection of the generation being started (its client is the supervisor's). */
  let latest: UpstreamConnection | undefined;
  let current: UpstreamConnection | undefined;
  let started = false;
  let closed = false;
  let waiters: Array<() => void> = [];

  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  };

  const child = supervise(
    {
      id: config.id,
      transport: 'stdio',
      command: config.command,
      args: config.args,
      env: config.env,
      ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
      readyTimeoutMs: config.readyTimeoutMs,
      restart: config.restart,
      ...(supervision.ping === undefined ? {} : { ping: supervision.ping }),
      ...(supervision.logDir === undefined ? {} : { logFile: join(supervision.logDir, `${config.id}.log`) }),
    },
    {
      createClient: (): Client => {
        const conn: UpstreamConnection = {
          upstreamId: config.id,
          agent: undefined,
          client: createUpstreamClient(hooks, () => conn),
          generation: ++generation,
        };
        conn.client.onerror = (error) => logger.debug({ err: error.message }, 'child transport error');
        latest = conn;
        return conn.client;
      },
      onStateChange: (status) => {
        // Called before onReady: the gateway re-reads the catalog from anyConnection() at once.
        current = status.state === 'ready' && latest?.client === child.client() ? latest : undefined;
        if (status.state !== 'starting') wake();
        if (!closed) hooks.onStateChange(config.id);
      },
      onLog: supervision.onLog ?? ((entry) => logChild(logger, entry)),
    },
  );

  return {
    id: config.id,
    transport: 'stdio',
    async start() {
      if (started || closed) return;
      started = true;
      await child.start();
    },
    async connection() {
      if (current) return current;
      if (!closed && phaseOf(child.status(), started) === 'starting') {
        await new Promise<void>((resolve) => waiters.push(resolve));
        if (current) return current;
      }
      throw new McpcpError('ERR_UPSTREAM_UNAVAILABLE', `server ${config.id} is unavailable`, {
        details: { server: config.id, phase: phaseOf(child.status(), started) },
      });
    },
    anyConnection: () => current,
    discard() {
      // A stdio child has no session to forget; a broken pipe ends the generation and the supervisor restarts it.
    },
    retryNow() {
      // The proxy's own supervisor runs this child: it already knows when the child is back.
    },
    release() {
      // One process and one connection serve every agent: nothing is any one agent's.
    },
    status: () => statusOf(child.status(), started),
    control: {
      restart: () => child.restart(),
      halt: () => child.halt(),
    },
    async close() {
      closed = true;
      current = undefined;
      wake();
      await child.stop();
    },
  };
}

function phaseOf(status: ChildStatus, started: boolean): UpstreamPhase {
  if (!started) return 'starting';
  return status.state === 'stopped' ? 'down' : status.state;
}

function statusOf(status: ChildStatus, started: boolean): UpstreamStatus {
  return {
    phase: phaseOf(status, started),
    ...(status.pid === undefined ? {} : { pid: status.pid }),
    address: 'stdio',
    ...(status.lastError === undefined ? {} : { lastError: status.lastError }),
    restarts: status.restarts,
    stderrTail: status.stderrTail,
  };
}

/** Without a sink, child lines go to the proxy's log: supervisor notes as warnings, output at debug. */
function logChild(logger: Logger, entry: ChildLogLine): void {
  const text = formatChildLine(entry);
  if (entry.stream === 'supervisor') logger.warn({ stream: entry.stream }, text);
  else logger.debug({ stream: entry.stream }, text);
}
