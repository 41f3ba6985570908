// Starts one proxy process's worth of parts: verifier, child-token signer, gateway, rate limiter, metrics,
// audit, the Hono app on @hono/node-server, policy hot reload, and a graceful close. This is the Node edge
// (sockets, files, clock); the app itself stays runtime-agnostic.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { issueChildToken } from '../auth/internal.ts';
import { loadSigner } from '../auth/keys.ts';
import { compilePolicy, rateLimitFor, type CompiledPolicy } from '../auth/policy.ts';
import { createTokenVerifier } from '../auth/verify.ts';
import { loadConfig } from '../config/load.ts';
import { readRuntimeEnv } from '../lib/env.ts';
import type { McpcpConfig } from '../config/schema.ts';
import { McpcpError } from '../lib/errors.ts';
import { AUDIT_BUFFER_BYTES, createLogger, type Logger } from '../lib/log.ts';
import { createProxyApp } from './app.ts';
import { createAuditLog } from './audit.ts';
import { watchConfigFile, type ConfigWatcher } from './config-watch.ts';
import { createNodeLane, type NodeListener } from './edge/node-lane.ts';
import { createOriginGuard } from './edge/origin-guard.ts';
import { resolveProxyUrls, withListen, type ProxyUrls } from './edge/public-url.ts';
import { jsonRpcErrorResponse } from './edge/jsonrpc.ts';
import { rpcCodes } from './errors-to-wire.ts';
import { createGateway, type Gateway, type GatewayOptions, type Principal } from './gateway/index.ts';
import { deriveRequestStateKey } from './gateway/request-state.ts';
import { createProxyMetrics } from './metrics.ts';
import { createAuthorizationServer, type AuthorizationServer } from './oauth/index.ts';
import { createRateLimiter } from './rate-limit.ts';
import { replicaShare } from './replica-share.ts';
import { createSessionSeal, sessionSealKey } from './gateway/session-seal.ts';
import { sealKey } from './sealed.ts';
import { consoleAudience, createOperatorTokenVerifier } from '../auth/operator.ts';
import { auditWithActivity, createActivityFeed } from './console/activity-feed.ts';
import { mountConsole, type MountedConsole } from './console/console-app.ts';
import { fleetFromGateway } from './console/fleet-control.ts';
import type { FleetControl, ReloadStatus } from './console/types.ts';
import { createToolPins, type ToolPins } from './tool-pins/pins.ts';
import { openPinStore, pinFileIn } from './tool-pins/store.ts';

export interface StartProxyOptions {
  config: McpcpConfig;
  /** When given, the file is watched and policy edits apply without a restart. */
  configFile?: string | undefined;
  logger?: Logger | undefined;
  /** Override config `proxy.listen.host` / `.port` (0 = any free port). */
  host?: string | undefined;
  port?: number | undefined;
  /** How long close() lets in-flight requests finish before cutting connections (default 10 s). */
  closeTimeoutMs?: number | undefined;
  /** Debounce of config file events (default 150 ms). */
  reloadDebounceMs?: number | undefined;
  /** Scopes every agent token must carry (default none). */
  requiredScopes?: readonly string[] | undefined;
  /** Log sink and log files of the stdio children the proxy supervises (`mcpcp up` prints them `[id] line`). */
  supervision?: GatewayOptions['supervision'];
  /** The fleet's data folder: tool pins live there (`tool-pins.sqlite`); without it they last as long as the proxy. */
  dataDir?: string | undefined;
  /** The whole fleet for the console (`mcpcp up` passes its launcher's); default: the children this proxy runs. */
  fleet?: FleetControl | undefined;
  /** The SDK-bypassing lanes (ARCHITECTURE.md decision 17); default MCPCP_DIRECT_LANES (on). */
  directLanes?: boolean | undefined;
}

export interface RunningProxy {
  /** Local base URL the server listens on, e.g. http://127.0.0.1:43211 */
  url: string;
  /** `url` + '/mcp' */
  mcpUrl: string;
  port: number;
  /** Public URLs: base, canonical resource (token audience), issuer, metadata URL. */
  urls: ProxyUrls;
  gateway: Gateway;
  /** Tool-definition pins (undefined when `proxy.toolPins` is off). */
  pins: ToolPins | undefined;
  reloadPolicy(): Promise<{ ok: boolean; error?: string }>;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const code = error.code === 'EADDRINUSE' ? 'ERR_CONFLICT' : 'ERR_INTERNAL';
      reject(
        new McpcpError(code, `cannot listen on ${host}:${port} (${error.code ?? error.message})`, {
          cause: error,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startProxy(options: StartProxyOptions): Promise<RunningProxy> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ name: 'mcpcp-proxy', bufferBytes: AUDIT_BUFFER_BYTES });
  const log = logger.child({ component: 'proxy' });
  const host = options.host ?? config.proxy.listen.host;
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const directLanes = options.directLanes ?? readRuntimeEnv().directLanes;

  // Bind first: with port 0 the public URL (and so the token audience) depends on the port we get.
  // The node:http bindings ride along (c.env.incoming), so a page can tell the client's address.
  let handler: (request: Request, env?: HttpBindings) => Response | Promise<Response> = () =>
    jsonRpcErrorResponse(503, rpcCodes.serverError, 'Starting');
  const honoListener = getRequestListener((request: Request, env) => handler(request, env as HttpBindings));
  const appListener: NodeListener = (req, res) => void honoListener(req, res);
  // Until the app exists every request goes to it (answering 503); then the node:http lane wraps it.
  let listener: NodeListener = appListener;
  const server = createServer((req, res) => listener(req, res));
  let inFlight = 0;
  let drained: (() => void) | undefined;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A GET on /mcp is a standing notification stream: it never "finishes", the gateway ends it on close.
    if (req.method === 'GET') return;
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
  });
  const port = await listen(server, options.port ?? config.proxy.listen.port, host);
  const url = `http://${urlHost(host)}:${port}`;

  let gateway: Gateway | undefined;
  let authServer: AuthorizationServer | undefined;
  let pins: ToolPins | undefined;
  let mounted: MountedConsole | undefined;
  try {
    const requested = { host, port: options.port ?? config.proxy.listen.port };
    const urls = resolveProxyUrls(withListen(config.proxy, requested), port);
    const jwks =
      config.proxy.jwksUrl === undefined ? { dir: config.proxy.keysDir } : { url: config.proxy.jwksUrl };
    const tokenVerifier = createTokenVerifier({ issuer: urls.issuer, audience: urls.resource, jwks });
    const oauth = config.oauth?.enabled === true ? config.oauth : undefined;
    const needsSigner = oauth !== undefined || config.servers.some((s) => s.firstParty);
    const signer = needsSigner ? await loadSigner(config.proxy.keysDir) : undefined;
    // input_required rounds are sealed with a key derived from the proxy's own signing key, so replicas
    // sharing the key folder resume each other's rounds. Without one (a remote JWKS), a key of this process.
    const sealingKey =
      signer ??
      (config.proxy.jwksUrl === undefined
        ? await loadSigner(config.proxy.keysDir).catch(() => undefined)
        : undefined);
    if (sealingKey === undefined)
      log.warn('no signing key: input_required rounds can only be resumed by this proxy process');
    const childTokens =
      signer === undefined
        ? undefined
        : {
            issue: (child: string, agent: string) =>
              issueChildToken(signer, {
                issuer: urls.issuer,
                child,
                agent,
                ttlSeconds: config.proxy.limits.internalTokenTtlSeconds,
              }),
          };

    let policy: CompiledPolicy = compilePolicy(config);
    let liveConfig: McpcpConfig = config;
    let reloadStatus: ReloadStatus = { ok: true, rules: config.policy.rules.length };
    const metrics = createProxyMetrics({ defaultMetrics: true });
    // The console's activity page hears every audit line.
    const activity = createActivityFeed();
    const audit = auditWithActivity(createAuditLog(logger), activity);
    if (config.proxy.toolPins !== 'off') {
      const file = options.dataDir === undefined ? ':memory:' : pinFileIn(options.dataDir);
      pins = createToolPins({ store: openPinStore(file), mode: config.proxy.toolPins, logger });
    }
    const rateLimiter = createRateLimiter<Principal>({
      limitFor: (p) => replicaShare(rateLimitFor(policy, p), config.proxy.replicas),
      keyOf: (p) => p.agent,
    });
    // Replicas seal 2025-era session ids so any of them can rebuild a session; every replica holding the fleet's
    // keys derives the same seal key (without keys, this process's own: sessions then stay with it).
    const sessionSeal =
      config.proxy.replicas > 1
        ? createSessionSeal(
            sealingKey === undefined ? undefined : await sessionSealKey(sealingKey.privateKey),
          )
        : undefined;
    // Console sessions too, sealed into their cookie (for a key-less fleet, this process's own key: sessions then stay).
    const consoleSessionKey =
      config.proxy.replicas > 1
        ? sealingKey === undefined
          ? randomBytes(32)
          : await sealKey(sealingKey.privateKey, 'mcpcp console session v1')
        : undefined;
    const gw = createGateway({
      servers: config.servers,
      policy,
      childTokens,
      callTimeoutMs: config.proxy.limits.callTimeoutMs,
      sessionIdleMs: config.proxy.limits.sessionIdleMs,
      agentIdleMs: config.proxy.limits.agentIdleMs,
      logger,
      onCall: (event) => {
        audit.call(event);
        metrics.recordCall(event);
      },
      ...(options.supervision === undefined ? {} : { supervision: options.supervision }),
      ...(sessionSeal === undefined ? {} : { sessionSeal }),
      toolGate: pins,
      directLanes,
      ...(sealingKey === undefined ? {} : { requestStateKey: deriveRequestStateKey(sealingKey.privateKey) }),
    });
    gateway = gw;
    const guard = createOriginGuard({
      publicUrl: urls.publicUrl,
      allowedOrigins: config.proxy.allowedOrigins,
    });
    // The built-in authorization server (ARCHITECTURE.md decision 15), on the same server and origin.
    if (oauth !== undefined && signer !== undefined) {
      authServer = await createAuthorizationServer({
        config,
        oauth,
        urls,
        signer,
        hosts: guard.hosts,
        logger,
      });
    }
    const verifier = authServer?.guardVerifier(tokenVerifier) ?? tokenVerifier;
    const charged = new WeakSet<Request>();
    const app = createProxyApp({
      verifier,
      gateway: gw,
      config,
      logger,
      metrics,
      rateLimiter,
      audit,
      urls,
      guard,
      charged,
      requiredScopes: options.requiredScopes,
      scopesSupported: authServer?.scopes,
      challengeScopes: authServer?.scopes,
      stepUp: authServer?.stepUp,
      routes: config.proxy.console
        ? (hono) => {
            mounted = mountConsole(hono, {
              config: () => liveConfig,
              policy: () => policy,
              configFile: options.configFile,
              reloadStatus: () => reloadStatus,
              gateway: gw,
              fleet: options.fleet ?? fleetFromGateway(gw, config.servers),
              pins,
              activity,
              metrics,
              operatorVerifier: createOperatorTokenVerifier({
                issuer: urls.issuer,
                audience: consoleAudience(urls.publicUrl),
                jwks,
              }),
              agentVerifier: verifier,
              passwords: authServer?.passwords,
              sessionKey: consoleSessionKey,
              urls,
              guard,
              logger,
            });
          }
        : undefined,
    });
    handler = (request, env) => app.fetch(request, env);
    listener = !directLanes
      ? appListener
      : createNodeLane(
          {
            hosts: guard.hosts,
            maxBodyBytes: config.proxy.limits.maxBodyBytes,
            verifier,
            requiredScopes: options.requiredScopes ?? [],
            stepUp: authServer?.stepUp,
            rateLimiter,
            charged,
            gateway: gw,
            metrics,
            app: handler,
            logger,
          },
          appListener,
        );
    if (authServer !== undefined) listener = authServer.wrap(listener);
    await gw.start();

    const configFile = options.configFile;
    // Edits are compared with the file as last read (the caller may have rewritten `config`, e.g. the
    // launcher filling in children's URLs), so only real edits of servers/proxy are reported.
    let current: McpcpConfig | undefined =
      configFile === undefined ? undefined : await loadConfig(configFile).catch(() => undefined);
    let reloading = Promise.resolve<{ ok: boolean; error?: string }>({ ok: true });
    let closed = false;
    async function reloadOnce(): Promise<{ ok: boolean; error?: string }> {
      if (configFile === undefined) return { ok: false, error: 'no config file to reload from' };
      if (closed) return { ok: false, error: 'the proxy is closed' };
      let next: McpcpConfig;
      let compiled: CompiledPolicy;
      try {
        next = await loadConfig(configFile);
        compiled = compilePolicy(next);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.error({ file: configFile, error: message }, 'config edit rejected; the previous policy stays');
        reloadStatus = { at: Date.now(), ok: false, error: message, rules: liveConfig.policy.rules.length };
        return { ok: false, error: message };
      }
      if (closed) return { ok: false, error: 'the proxy is closed' };
      policy = compiled;
      liveConfig = next;
      reloadStatus = { at: Date.now(), ok: true, rules: next.policy.rules.length };
      gw.setPolicy(compiled);
      if (
        current !== undefined &&
        (JSON.stringify(next.servers) !== JSON.stringify(current.servers) ||
          JSON.stringify(next.proxy) !== JSON.stringify(current.proxy) ||
          JSON.stringify(next.oauth) !== JSON.stringify(current.oauth))
      ) {
        log.warn(
          { file: configFile },
          'servers, proxy or oauth settings changed: they apply at the next restart',
        );
      }
      current = next;
      log.info({ file: configFile, rules: next.policy.rules.length }, 'policy reloaded');
      return { ok: true };
    }
    // Reloads run one at a time, in order, so the last edit wins.
    const reloadPolicy = (): Promise<{ ok: boolean; error?: string }> => {
      reloading = reloading.then(reloadOnce, reloadOnce);
      return reloading;
    };

    let watcher: ConfigWatcher | undefined;
    if (configFile !== undefined) {
      watcher = watchConfigFile({
        file: configFile,
        debounceMs: options.reloadDebounceMs,
        onChange: () => void reloadPolicy(),
        onError: (error) => log.warn({ err: error }, 'config watch failed; hot reload is off'),
      });
    }

    let closing: Promise<void> | undefined;
    async function closeOnce(): Promise<void> {
      closed = true;
      watcher?.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, closeTimeoutMs);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      mounted?.close();
      await gw.close();
      pins?.close();
      server.closeAllConnections();
      await stopped;
      await authServer?.close();
      log.info('proxy closed');
    }

    log.info(
      { url, publicUrl: urls.publicUrl, servers: config.servers.length, directLanes },
      'proxy listening',
    );
    return {
      url,
      mcpUrl: `${url}/mcp`,
      port,
      urls,
      gateway: gw,
      pins,
      reloadPolicy,
      close: () => (closing ??= closeOnce()),
    };
  } catch (error) {
    mounted?.close();
    await gateway?.close().catch(() => undefined);
    await authServer?.close().catch(() => undefined);
    pins?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
}
