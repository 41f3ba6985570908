// The HTTP children the launcher itself starts (those with a `start` command), each under a supervisor, and the
// last-resort reaping of anything a stop left running. It must not start the proxy; fleet.ts does.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { issueChildToken } from '../../auth/internal.ts';
import { loadSigner } from '../../auth/keys.ts';
import type { HttpServerConfig, McpcpConfig } from '../../config/schema.ts';
import type { Logger } from '../../lib/log.ts';
import { signalGroup } from '../../supervisor/spawn-guarded.ts';
import { supervise, type ChildStatus, type Supervisor } from '../../supervisor/supervisor.ts';
import type { FleetOptions, ServerRow } from './fleet-types.ts';

/** Belt and braces: a child the proxy did not manage to stop within 2 s is killed (it and its group). */
export async function reapLeftovers(pids: readonly number[], logger: Logger): Promise<void> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 2_000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(alive)) {
    logger.warn({ pid }, 'child still running after shutdown; killing it');
    signalGroup(pid, 'SIGKILL');
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function rowFromSupervisor(status: ChildStatus): ServerRow {
  return {
    id: status.id,
    transport: status.transport,
    state: status.state,
    pid: status.pid,
    address: status.address,
    tools: status.tools,
    restarts: status.restarts,
    lastError: status.lastError,
    stderrTail: status.state === 'ready' ? undefined : status.stderrTail,
    owner: 'launcher',
  };
}

export type ChildTokenSource = ((child: string) => Promise<string>) | undefined;

/** First-party children only answer with an internal child JWT; the probe identifies as the launcher. */
export async function childTokenSource(
  config: McpcpConfig,
  launched: readonly HttpServerConfig[],
): Promise<ChildTokenSource> {
  if (!launched.some((server) => server.firstParty)) return undefined;
  const signer = await loadSigner(config.proxy.keysDir);
  const ttlSeconds = config.proxy.limits.internalTokenTtlSeconds;
  return (child) =>
    issueChildToken(signer, { issuer: config.proxy.issuer, child, agent: 'mcpcp-launcher', ttlSeconds });
}

export function superviseHttpChild(
  server: HttpServerConfig,
  options: FleetOptions,
  childToken: ChildTokenSource,
  /** Called each time the child is ready (first start and every restart). */
  onReady?: (id: string) => void,
): Supervisor {
  const start = server.start!;
  const picksOwnPort = new URL(server.url).port === '0';
  return supervise(
    {
      id: server.id,
      transport: 'http',
      command: start.command,
      args: start.args,
      env: start.env,
      ...(start.cwd === undefined ? {} : { cwd: start.cwd }),
      url: server.url,
      ...(picksOwnPort
        ? {
            restartArgs: (last: string | undefined) =>
              last ? [...start.args, '--port', new URL(last).port] : start.args,
          }
        : {}),
      ...(server.firstParty && childToken ? { bearerToken: () => childToken(server.id) } : {}),
      readyTimeoutMs: server.readyTimeoutMs,
      restart: server.restart,
      ...(options.ping === undefined ? {} : { ping: options.ping }),
      ...(options.logDir === undefined ? {} : { logFile: join(options.logDir, `${server.id}.log`) }),
    },
    {
      onLog: (entry) =>
        options.onEvent({ event: 'child-log', id: entry.id, stream: entry.stream, line: entry.line }),
      ...(onReady === undefined ? {} : { onReady: () => onReady(server.id) }),
      onStateChange: (status) =>
        options.onEvent({
          event: 'child-state',
          id: status.id,
          state: status.state,
          lastError: status.lastError,
        }),
    },
  );
}
