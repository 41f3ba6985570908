// Supervises one MCP child process: spawn (guarded, own process group), readiness by MCP handshake +
// tools/list, liveness by ping, restart with backoff and jitter, crash-loop detection, shutdown ladder.
// Used by the launcher for HTTP children and by the proxy's stdio upstream (which gets the connected client
// through `onReady`). This file is the lifecycle (states and transitions); the pieces live next to it:
// generation.ts (one spawned process and its transport), liveness.ts (ping), backoff.ts, shutdown.ts, types.ts.
// It must not know about policy, agents or the proxy.
import { Client, type Tool } from '@modelcontextprotocol/client';
import { defaultRestartPolicy, judgeCrash, type CrashHistory } from './backoff.ts';
import { ChildLog } from './child-log.ts';
import {
  delay,
  describe,
  describeExit,
  openTransport,
  quickLadder,
  spawnGeneration,
  type ExitInfo,
  type Generation,
} from './generation.ts';
import { defaultPing, startPing } from './liveness.ts';
import { handshake } from './readiness.ts';
import { defaultShutdownLadder, stopChild, type LadderStep, type ShutdownLadder } from './shutdown.ts';
import { isRunning, signalGroup } from './spawn-guarded.ts';
import type {
  ChildSpec,
  ChildState,
  ChildStatus,
  StartOutcome,
  Supervisor,
  SupervisorHooks,
} from './types.ts';

export type {
  ChildSpec,
  ChildState,
  ChildStatus,
  ReadyChild,
  StartOutcome,
  Supervisor,
  SupervisorHooks,
} from './types.ts';

export function supervise(spec: ChildSpec, hooks: SupervisorHooks = {}): Supervisor {
  return new ChildSupervisor(spec, hooks);
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
  /** stop() was called: nothing may start the child again. */
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
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
    this.#closed = true;
    // At once, not when the queue gets here: no restart may be scheduled from now on.
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const step = await this.#control(() => this.#halt());
    this.#log.close();
    return step;
  }

  halt(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#control(async () => {
      if (this.#state === 'stopped') return;
      this.#log.write('supervisor', 'stopped by the operator; it stays down until restarted');
      await this.#halt();
    });
  }

  restart(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`child ${this.id} was stopped for good`));
    return this.#control(async () => {
      if (this.#closed) return;
      this.#log.write('supervisor', 'restarted by the operator');
      if (this.#generation !== undefined) await this.#halt();
      // A deliberate restart is a fresh start: earlier crashes no longer count towards crash-looping.
      this.#stopping = false;
      this.#history = [];
      if (this.#generation !== undefined) this.#restarts += 1;
      void this.#run();
    });
  }

  /** Operator actions and the final stop run one at a time, in order. */
  #control<T>(action: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(action, action);
    this.#queue = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** The current generation leaves by the ladder and no restart follows (until restart()). */
  async #halt(): Promise<LadderStep | 'not-running'> {
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
    this.#nextRestartAt = undefined;
    this.#tools = [];
    this.#setState('stopped');
    if (wasReady) this.#hooks.onDown?.(this.status());
    this.#settleFirst(false, 'stopped before it became ready');
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
    const generation = spawnGeneration(this.#spec, args, ++this.#count, this.#log);
    const { child, exited } = generation;
    this.#generation = generation;
    void exited.then((info) => this.#onExit(generation, info));

    try {
      const { transport, address } = await openTransport(
        this.#spec,
        generation,
        this.#log,
        deadline,
        this.#now,
      );
      this.#address = address;
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
      this.#startPing(generation, client);
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

  #startPing(generation: Generation, client: Client): void {
    const ping = this.#spec.ping === undefined ? defaultPing : this.#spec.ping;
    if (ping === false) return;
    const current = () => generation === this.#generation && !this.#stopping && this.#state === 'ready';
    this.#pingTimer = startPing(client, ping, current, (reason) => {
      generation.failure = reason;
      this.#log.write('supervisor', `${reason}; restarting it`);
      void stopChild(generation.child, this.#ladder(), generation.exited);
    });
  }

  #onExit(generation: Generation, info: ExitInfo): void {
    // Whatever the child forked dies with it; then the watcher is no longer needed.
    signalGroup(generation.child.pid, 'SIGKILL');
    generation.child.release();
    if (generation !== this.#generation || this.#stopping) return;
    clearInterval(this.#pingTimer);
    const wasReady = this.#state === 'ready';
    const reason = describeExit(info, generation.failure, wasReady);
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
