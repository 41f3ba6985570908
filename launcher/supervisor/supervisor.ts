// Supervises one MCP child process: spawn (guarded, own process group), readiness by MCP handshake +
// tools/list, liveness by ping, restart with backoff and jitter, crash-loop detection, shutdown ladder.
// Used by the launcher for HTTP children and by the proxy's stdio upstream (which gets the connected client
// through `onReady`). It must not know about policy, agents or the proxy.
import {
  Client,
  StreamableHTTPClientTransport,
  type Tool,
  type Transport,
} from '@modelcontextprotocol/client';
import { defaultRestartPolicy, judgeCrash, type CrashHistory, type RestartPolicy } from './backoff.ts';
import { ChildLog, type ChildLogLine } from './child-log.ts';
import { readLines } from './lines.ts';
import { beforeDeadline, handshake, needsListeningLine, parseListeningLine } from './readiness.ts';
import { defaultShutdownLadder, stopChild, type LadderStep, type ShutdownLadder } from './shutdown.ts';
import { isRunning, signalGroup, spawnGuarded, type GuardedChild } from './spawn-guarded.ts';
import { ChildStdioTransport } from './stdio-transport.ts';

export type ChildState = 'starting' | 'ready' | 'down' | 'crash-looping' | 'stopped';

export interface ChildSpec {
  readonly id: string;
  readonly transport: 'stdio' | 'http';
  readonly command: string;
  readonly args?: readonly string[];
  /** Configured env, merged over the allow-listed parent env. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** http: the MCP endpoint. Absent or port 0: taken from the child's `{"event":"listening"}` stdout line. */
  readonly url?: string;
  /**
   * Arguments for restarts, given the address the previous generation had. Lets an HTTP child that picked its own
   * port (listening line) come back at the same URL, e.g. `(url) => [...args, '--port', portOf(url)]`.
   */
  readonly restartArgs?: (lastAddress: string | undefined) => readonly string[];
  /** http: headers for the supervisor's own probe connection (e.g. an internal child JWT). */
  readonly headers?: () => Promise<Record<string, string>> | Record<string, string>;
  readonly readyTimeoutMs?: number;
  readonly restart?: RestartPolicy;
  /** Liveness: ping every intervalMs; no answer within timeoutMs restarts the child. false disables. */
  readonly ping?: { readonly intervalMs: number; readonly timeoutMs: number } | false;
  readonly shutdown?: ShutdownLadder;
  /** Append the child's output to this file. */
  readonly logFile?: string;
  /** stderr lines kept for status (default 20). */
  readonly tailLines?: number;
}

export interface ChildStatus {
  readonly id: string;
  readonly transport: 'stdio' | 'http';
  readonly state: ChildState;
  readonly pid?: number;
  /** 'stdio' or the HTTP URL. */
  readonly address?: string;
  readonly tools: number;
  readonly toolNames: readonly string[];
  readonly restarts: number;
  readonly lastError?: string;
  readonly stderrTail: readonly string[];
  readonly readyInMs?: number;
  /** Epoch ms of the last state change. */
  readonly since: number;
  readonly nextRestartAt?: number;
}

export interface ReadyChild {
  readonly id: string;
  /** The connected client. For stdio children it is the only channel to the process: use it, never close it. */
  readonly client: Client;
  readonly tools: readonly Tool[];
  readonly pid: number | undefined;
  readonly address: string;
  readonly readyInMs: number;
}

export type StartOutcome =
  | { readonly ok: true; readonly status: ChildStatus }
  | { readonly ok: false; readonly status: ChildStatus; readonly error: string };

export interface SupervisorHooks {
  readonly onLog?: (entry: ChildLogLine) => void;
  readonly onStateChange?: (status: ChildStatus) => void;
  /** Called every time the child becomes ready (first start and each restart). */
  readonly onReady?: (ready: ReadyChild) => void;
  /** Called every time a ready child stops being ready (crash, hang, stop). */
  readonly onDown?: (status: ChildStatus) => void;
  /** Builds the MCP client for one generation of the child (register handlers/capabilities here). */
  readonly createClient?: () => Client;
  readonly random?: () => number;
  readonly now?: () => number;
}

export interface Supervisor {
  readonly id: string;
  /** Starts the child; resolves with the outcome of the first attempt (restarts continue in the background). */
  start(): Promise<StartOutcome>;
  status(): ChildStatus;
  /** The connected client while ready. */
  client(): Client | undefined;
  /** Stops the child with the shutdown ladder; no restart follows. Resolves with the step that ended it. */
  stop(): Promise<LadderStep | 'not-running'>;
}

const defaultPing = { intervalMs: 10_000, timeoutMs: 5_000 } as const;

export function supervise(spec: ChildSpec, hooks: SupervisorHooks = {}): Supervisor {
  return new ChildSupervisor(spec, hooks);
}

interface Generation {
  readonly number: number;
  readonly child: GuardedChild;
  readonly exited: Promise<{ code: number | null; signal: string | null; error?: Error }>;
  client?: Client;
  /** Why the supervisor is ending this generation (readiness or liveness failure), if it is. */
  failure?: string;
  garbageLines: number;
}

class ChildSupervisor implements Supervisor {
  readonly id: string;
  readonly #spec: ChildSpec;
  readonly #hooks: SupervisorHooks;
  readonly #log: ChildLog;
  readonly #now: () => number;
  #state: ChildState = 'down';
  #since: number;
  #generation: Generation | undefined;
  #count = 0;
  #history: CrashHistory = [];
  #restarts = 0;
  #tools: readonly Tool[] = [];
  #address: string | undefined;
  #lastError: string | undefined;
  #readyInMs: number | undefined;
  #nextRestartAt: number | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #firstOutcome: ((outcome: StartOutcome) => void) | undefined;

  constructor(spec: ChildSpec, hooks: SupervisorHooks) {
    this.id = spec.id;
    this.#spec = spec;
    this.#hooks = hooks;
    this.#now = hooks.now ?? Date.now;
    this.#since = this.#now();
    this.#log = new ChildLog({
      id: spec.id,
      ...(hooks.onLog ? { sink: hooks.onLog } : {}),
      ...(spec.logFile === undefined ? {} : { file: spec.logFile }),
      ...(spec.tailLines === undefined ? {} : { tailLines: spec.tailLines }),
    });
  }

  start(): Promise<StartOutcome> {
    if (this.#generation !== undefined || this.#stopping) throw new Error(`child ${this.id} already started`);
    const outcome = new Promise<StartOutcome>((resolve) => (this.#firstOutcome = resolve));
    void this.#run();
    return outcome;
  }

  client(): Client | undefined {
    return this.#state === 'ready' ? this.#generation?.client : undefined;
  }

  status(): ChildStatus {
    const pid = this.#generation?.child.pid;
    const alive = this.#generation !== undefined && isRunning(this.#generation.child);
    return {
      id: this.id,
      transport: this.#spec.transport,
      state: this.#state,
      ...(alive && pid !== undefined ? { pid } : {}),
      ...(this.#address === undefined ? {} : { address: this.#address }),
      tools: this.#state === 'ready' ? this.#tools.length : 0,
      toolNames: this.#state === 'ready' ? this.#tools.map((tool) => tool.name) : [],
      restarts: this.#restarts,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
      stderrTail: this.#log.tail(),
      ...(this.#readyInMs === undefined ? {} : { readyInMs: this.#readyInMs }),
      since: this.#since,
      ...(this.#nextRestartAt === undefined ? {} : { nextRestartAt: this.#nextRestartAt }),
    };
  }

  async stop(): Promise<LadderStep | 'not-running'> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    clearInterval(this.#pingTimer);
    const generation = this.#generation;
    const wasReady = this.#state === 'ready';
    let step: LadderStep | 'not-running' = 'not-running';
    if (generation !== undefined) {
      const client = generation.client;
      if (client && this.#spec.transport === 'http') {
        await Promise.race([client.close().catch(() => undefined), delay(500)]);
      }
      const { child } = generation;
      const running = isRunning(child);
      const ended = await stopChild(child, this.#ladder(), generation.exited);
      if (running) step = ended;
      if (client && this.#spec.transport === 'stdio') await client.close().catch(() => undefined);
    }
    this.#setState('stopped');
    if (wasReady) this.#hooks.onDown?.(this.status());
    this.#settleFirst(false, 'stopped before it became ready');
    this.#log.close();
    return step;
  }

  /** stdin EOF is how a stdio server is asked to leave; an HTTP server ignores it, so go to SIGTERM at once. */
  #ladder(): ShutdownLadder {
    if (this.#spec.shutdown) return this.#spec.shutdown;
    return this.#spec.transport === 'stdio'
      ? defaultShutdownLadder
      : { ...defaultShutdownLadder, stdinGraceMs: 0 };
  }

  async #run(): Promise<void> {
    if (this.#stopping) return;
    this.#nextRestartAt = undefined;
    const started = this.#now();
    const deadline = started + (this.#spec.readyTimeoutMs ?? 15_000);
    this.#tools = [];
    this.#setState('starting');
    const args =
      this.#count > 0 && this.#spec.restartArgs
        ? this.#spec.restartArgs(this.#address)
        : (this.#spec.args ?? []);
    const child = spawnGuarded({
      command: this.#spec.command,
      args,
      ...(this.#spec.env ? { env: this.#spec.env } : {}),
      ...(this.#spec.cwd === undefined ? {} : { cwd: this.#spec.cwd }),
    });
    const exited = new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
      child.process.once('exit', (code, signal) => resolve({ code, signal }));
      child.process.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    const generation: Generation = { number: ++this.#count, child, exited, garbageLines: 0 };
    this.#generation = generation;
    child.stdin.on('error', () => undefined);
    readLines(child.stderr, { line: (line) => this.#log.write('stderr', line) }, 64 * 1024);
    void exited.then((info) => this.#onExit(generation, info));

    try {
      let transport: Transport;
      if (this.#spec.transport === 'stdio') {
        this.#address = 'stdio';
        transport = new ChildStdioTransport({
          stdin: child.stdin,
          stdout: child.stdout,
          onGarbage: (line) => this.#onGarbage(generation, line),
        });
      } else {
        const url = await beforeDeadline(
          this.#resolveUrl(child),
          deadline,
          'the {"event":"listening"} line on stdout',
          this.#now,
        );
        this.#address = url;
        const headers = (await this.#spec.headers?.()) ?? {};
        transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
      }
      const client =
        this.#hooks.createClient?.() ?? new Client({ name: 'mcpcp-supervisor', version: '0.1.0' });
      generation.client = client;
      const tools = await Promise.race([
        handshake(client, transport, deadline, this.#now),
        exited.then(() => {
          throw new Error('exited before it was ready');
        }),
      ]);
      if (generation !== this.#generation || this.#stopping) return;
      this.#tools = tools;
      this.#readyInMs = this.#now() - started;
      this.#setState('ready');
      this.#startPing(generation);
      this.#hooks.onReady?.({
        id: this.id,
        client,
        tools,
        pid: child.pid,
        address: this.#address,
        readyInMs: this.#readyInMs,
      });
      this.#settleFirst(true);
    } catch (error) {
      if (generation !== this.#generation || this.#stopping) return;
      // A child that died makes the handshake fail first ("Connection closed"); let #onExit report the real cause.
      await Promise.race([exited, delay(250)]);
      if (!isRunning(child)) return;
      generation.failure = `not ready: ${describe(error)} (readyTimeoutMs ${this.#spec.readyTimeoutMs ?? 15_000})`;
      await stopChild(child, quickLadder, exited);
    }
  }

  #resolveUrl(child: GuardedChild): Promise<string> {
    const configured = this.#spec.url;
    const wanted = needsListeningLine(configured);
    return new Promise((resolve) => {
      if (!wanted && configured !== undefined) resolve(configured);
      let found = false;
      readLines(
        child.stdout,
        {
          line: (line) => {
            const url = found ? undefined : parseListeningLine(line);
            if (url !== undefined) {
              found = true;
              if (wanted) resolve(url);
              return;
            }
            this.#log.write('stdout', line);
          },
        },
        64 * 1024,
      );
    });
  }

  #onGarbage(generation: Generation, line: string): void {
    generation.garbageLines += 1;
    const n = generation.garbageLines;
    if (n <= 3) this.#log.write('supervisor', `ignored a stdout line that is not JSON-RPC: ${line}`);
    else if (n === 4 || n % 10_000 === 0) {
      this.#log.write(
        'supervisor',
        `${n} stdout lines that are not JSON-RPC ignored so far (stdout must carry only MCP)`,
      );
    }
  }

  #startPing(generation: Generation): void {
    const ping = this.#spec.ping === undefined ? defaultPing : this.#spec.ping;
    if (ping === false) return;
    let busy = false;
    this.#pingTimer = setInterval(() => {
      if (busy || generation !== this.#generation || this.#state !== 'ready' || !generation.client) return;
      busy = true;
      generation.client
        .ping({ timeout: ping.timeoutMs })
        .catch(async (error: unknown) => {
          if (generation !== this.#generation || this.#stopping || this.#state !== 'ready') return;
          generation.failure = `did not answer ping within ${ping.timeoutMs} ms (${describe(error)})`;
          this.#log.write('supervisor', `${generation.failure}; restarting it`);
          await stopChild(generation.child, this.#ladder(), generation.exited);
        })
        .finally(() => (busy = false));
    }, ping.intervalMs);
    this.#pingTimer.unref();
  }

  #onExit(generation: Generation, info: { code: number | null; signal: string | null; error?: Error }): void {
    // Whatever the child forked dies with it; then the watcher is no longer needed.
    signalGroup(generation.child.pid, 'SIGKILL');
    generation.child.release();
    if (generation !== this.#generation || this.#stopping) return;
    clearInterval(this.#pingTimer);
    const wasReady = this.#state === 'ready';
    const how = info.error
      ? `could not be spawned: ${info.error.message}`
      : info.signal
        ? `was killed by ${info.signal}`
        : `exited with code ${String(info.code)}`;
    const reason = generation.failure ?? `${how}${wasReady ? '' : ' before it was ready'}`;
    this.#lastError = reason;
    if (generation.client && this.#spec.transport === 'http')
      void generation.client.close().catch(() => undefined);
    const { verdict, history } = judgeCrash(
      this.#history,
      { now: this.#now(), clean: info.code === 0 && generation.failure === undefined },
      this.#spec.restart ?? defaultRestartPolicy,
      this.#hooks.random ?? Math.random,
    );
    this.#history = history;
    this.#tools = [];
    if (verdict.action === 'restart') {
      this.#nextRestartAt = this.#now() + verdict.delayMs;
      this.#log.write('supervisor', `${reason}; restart ${verdict.attempt} in ${verdict.delayMs} ms`);
      this.#setState('down');
      this.#restartTimer = setTimeout(() => {
        this.#restarts += 1;
        void this.#run();
      }, verdict.delayMs);
    } else if (verdict.action === 'give-up') {
      this.#log.write(
        'supervisor',
        `${reason}; ${verdict.crashesInWindow} failures in the restart window: crash-looping, left down`,
      );
      this.#setState('crash-looping');
    } else {
      this.#log.write('supervisor', `${reason}; not restarted (restart policy)`);
      this.#setState('down');
    }
    if (wasReady) this.#hooks.onDown?.(this.status());
    this.#settleFirst(false, reason);
  }

  #settleFirst(ok: boolean, error?: string): void {
    const resolve = this.#firstOutcome;
    if (!resolve) return;
    this.#firstOutcome = undefined;
    resolve(
      ok
        ? { ok: true, status: this.status() }
        : { ok: false, status: this.status(), error: error ?? 'failed' },
    );
  }

  #setState(state: ChildState): void {
    this.#state = state;
    this.#since = this.#now();
    this.#hooks.onStateChange?.(this.status());
  }
}

/** A child that failed readiness is not asked politely for long. */
const quickLadder: ShutdownLadder = { stdinGraceMs: 100, termGraceMs: 1_000 };

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
