// One running fleet: the HTTP children the launcher starts (each under a supervisor), then the proxy in-process
// (which spawns and supervises the stdio children itself), the admin socket, and an orderly stop.
// Reports progress as events; rendering them is the command's job. It must not parse flags or print.
import type { HttpServerConfig, McpcpConfig } from '../../config/schema.ts';
import { McpcpError } from '../../lib/errors.ts';
import type { FleetControl } from '../../proxy/console/types.ts';
import { startProxy, type RunningProxy } from '../../proxy/start.ts';
import type { Supervisor } from '../../supervisor/supervisor.ts';
import { startAdminServer, type AdminToolHandlers } from './admin-socket.ts';
import type { Fleet, FleetOptions, FleetStatus, ServerRow } from './fleet-types.ts';
import { childTokenSource, reapLeftovers, rowFromSupervisor, superviseHttpChild } from './launched.ts';
import { reservePort, type PortReservation } from './port-reservation.ts';

export type { Fleet, FleetEvent, FleetOptions, FleetStatus, ServerRow } from './fleet-types.ts';

const hintFor = (owner: ServerRow['owner']) =>
  owner === 'launcher'
    ? 'check its `start` command in the config and the stderr lines above; `mcpcp status` shows its state'
    : 'check its command in the config and its stderr lines; `mcpcp status` shows its state and restarts';

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const started = Date.now();
  // First the data folder (its admin socket is the lock), then the proxy's port: a second `up` or a busy port is
  // refused before any child is spawned. The socket answers "starting" until the fleet is ready.
  let running: Fleet | undefined;
  const admin = await startAdminServer(options.dataDir, {
    status: () => running?.status(),
    down: () => running !== undefined && (void running.stop('mcpcp down'), true),
    tools: () => pinHandlers(running?.proxy.pins),
  });
  try {
    const host = options.host ?? options.config.proxy.listen.host;
    const port = options.port ?? options.config.proxy.listen.port;
    // Port 0 needs no reservation: the proxy takes whatever is free.
    const reservation = port === 0 ? undefined : await reservePort(host, port);
    const fleet = await startParts(options, started, admin, reservation);
    running = fleet;
    return fleet;
  } catch (error) {
    await admin.close();
    throw error;
  }
}

/** The admin socket's tool-pin routes over the running proxy's pins (none while starting or with pinning off). */
function pinHandlers(pins: RunningProxy['pins']): AdminToolHandlers | undefined {
  if (pins === undefined) return undefined;
  return {
    list: () => ({ mode: pins.mode, tools: pins.list() }),
    diff: (server, tool) => {
      const diff = pins.diff(server, tool);
      if (diff === undefined)
        throw new McpcpError('ERR_NOT_FOUND', `no tool ${tool} of server ${server} has been seen`);
      return { ...diff, history: pins.history(server, tool) };
    },
    approve: (server, tool, by, hash) => pins.approve(server, tool, by, hash),
  };
}

async function startParts(
  options: FleetOptions,
  started: number,
  admin: { close(): Promise<void> },
  reservation: PortReservation | undefined,
): Promise<Fleet> {
  const { config, onEvent } = options;
  const startedAt = new Date(started).toISOString();
  const supervisors = new Map<string, Supervisor>();
  const launched = config.servers.filter(
    (s): s is HttpServerConfig => s.transport === 'http' && s.start !== undefined,
  );
  for (const server of config.servers)
    onEvent({ event: 'child-starting', id: server.id, transport: server.transport });

  let proxy: RunningProxy | undefined;
  // 1. HTTP children with a start command: ready (MCP handshake + tools/list) before the proxy routes to them.
  const childToken = await childTokenSource(config, launched);
  const resolvedUrls = new Map<string, string>();
  await Promise.all(
    launched.map(async (server) => {
      // After a restart, the proxy need not wait out its own reconnect backoff to find the child again.
      const supervisor = superviseHttpChild(server, options, childToken, (id) =>
        proxy?.gateway.reconnect(id),
      );
      supervisors.set(server.id, supervisor);
      const outcome = await supervisor.start();
      const status = outcome.status;
      if (status.address !== undefined) resolvedUrls.set(server.id, status.address);
      onEvent(
        outcome.ok
          ? {
              event: 'child-ready',
              id: server.id,
              ms: status.readyInMs ?? 0,
              tools: status.tools,
              pid: status.pid,
              address: status.address,
            }
          : {
              event: 'child-failed',
              id: server.id,
              ms: Date.now() - started,
              error: outcome.error,
              hint: hintFor('launcher'),
              stderrTail: status.stderrTail,
            },
      );
    }),
  );

  // 2. The proxy, in-process; it spawns and supervises the stdio children.
  const proxyConfig: McpcpConfig = {
    ...config,
    servers: config.servers.map((server) =>
      server.transport === 'http' && resolvedUrls.has(server.id)
        ? { ...server, url: resolvedUrls.get(server.id)! }
        : server,
    ),
  };
  // The console's view of the whole fleet: the launcher's HTTP children by their supervisors, the rest by the proxy.
  let rowsNow: () => ServerRow[] = () => [];
  const control = async (id: string, action: 'restart' | 'stop'): Promise<void> => {
    const supervisor = supervisors.get(id);
    if (supervisor !== undefined) return action === 'restart' ? supervisor.restart() : supervisor.halt();
    if (!config.servers.some((server) => server.id === id))
      throw new McpcpError('ERR_NOT_FOUND', `no server ${id}`);
    if (!(await proxy!.gateway.controlChild(id, action)))
      throw new McpcpError('ERR_FORBIDDEN', `${id} runs elsewhere; restart it where it runs`);
  };
  const fleetControl: FleetControl = {
    rows: () => rowsNow(),
    restart: (id) => control(id, 'restart'),
    stop: (id) => control(id, 'stop'),
  };
  try {
    await reservation?.release();
    proxy = await startProxy({
      config: proxyConfig,
      dataDir: options.dataDir,
      fleet: fleetControl,
      configFile: options.configFile,
      logger: options.logger,
      host: options.host,
      port: options.port,
      closeTimeoutMs: options.drainTimeoutMs,
      // The proxy supervises its stdio children with the same supervisor: same `[id]` lines, same log files.
      supervision: {
        onLog: (entry) =>
          onEvent({ event: 'child-log', id: entry.id, stream: entry.stream, line: entry.line }),
        ...(options.logDir === undefined ? {} : { logDir: options.logDir }),
      },
    });
  } catch (error) {
    await reservation?.release();
    await Promise.all([...supervisors.values()].map((s) => s.stop()));
    throw error;
  }
  const proxyReadyMs = Date.now() - started;

  const rows = (): ServerRow[] => {
    const upstream = new Map(proxy.gateway.upstreamStates().map((state) => [state.id, state]));
    return config.servers.map((server): ServerRow => {
      const supervisor = supervisors.get(server.id);
      if (supervisor) return rowFromSupervisor(supervisor.status());
      const state = upstream.get(server.id);
      return {
        id: server.id,
        transport: server.transport,
        state: state?.state ?? 'unknown',
        pid: state?.pid,
        address: state?.address ?? (server.transport === 'http' ? server.url : 'stdio'),
        tools: state?.tools ?? 0,
        restarts: state?.restarts,
        lastError: state?.lastError,
        stderrTail: state === undefined || state.state === 'ready' ? undefined : state.stderrTail,
        owner: server.transport === 'stdio' ? 'proxy' : 'external',
      };
    });
  };
  rowsNow = rows;
  const status = (): FleetStatus => ({
    pid: process.pid,
    dataDir: options.dataDir,
    configFile: options.configFile,
    startedAt,
    proxy: { url: proxy.url, mcpUrl: proxy.mcpUrl, resource: proxy.urls.resource, issuer: proxy.urls.issuer },
    servers: rows(),
  });

  // Children the proxy supervises report through its upstream states: announce their outcome, then watch changes.
  const lastState = new Map<string, string>();
  for (const row of rows()) {
    lastState.set(row.id, row.state);
    if (row.owner === 'launcher') continue;
    onEvent(
      row.state === 'ready'
        ? {
            event: 'child-ready',
            id: row.id,
            ms: proxyReadyMs,
            tools: row.tools,
            pid: row.pid,
            address: row.address,
          }
        : {
            event: 'child-failed',
            id: row.id,
            ms: proxyReadyMs,
            error: row.lastError ?? row.state,
            hint: hintFor(row.owner),
            stderrTail: row.stderrTail ?? [],
          },
    );
  }
  const watch = setInterval(() => {
    for (const row of rows()) {
      if (row.owner === 'launcher' || lastState.get(row.id) === row.state) continue;
      lastState.set(row.id, row.state);
      onEvent({ event: 'child-state', id: row.id, state: row.state, lastError: row.lastError });
    }
  }, 250);
  watch.unref();

  let stopping: Promise<void> | undefined;
  let markStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      const t0 = Date.now();
      onEvent({ event: 'fleet-stopping', reason });
      clearInterval(watch);
      const pids = rows().flatMap((row) => (row.pid === undefined ? [] : [row.pid]));
      // Stop accepting, let in-flight calls finish (bounded), then the proxy stops its stdio children.
      await proxy
        .close()
        .catch((error: unknown) => options.logger.error({ err: error }, 'proxy close failed'));
      // The proxy has stopped its stdio children (and let go of external ones): say so, as the supervisors
      // below say it for the children the launcher started.
      for (const server of config.servers) {
        if (!supervisors.has(server.id)) onEvent({ event: 'child-state', id: server.id, state: 'stopped' });
      }
      await Promise.all([...supervisors.values()].map((s) => s.stop()));
      await reapLeftovers(pids, options.logger);
      await admin.close();
      onEvent({ event: 'fleet-stopped', ms: Date.now() - t0 });
      markStopped();
    })());

  onEvent({ event: 'fleet-ready', ms: Date.now() - started, status: status() });
  return { proxy, status, stop, stopped };
}
