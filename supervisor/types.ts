// The supervisor's public shapes: what a child is (spec), how it is doing (status), and the hooks and handle a
// caller gets. Shared by supervisor.ts (the lifecycle) and its callers: the launcher's fleet and the proxy's stdio
// upstream. Types only.
import type { Client, Tool } from '@modelcontextprotocol/client';
import type { RestartPolicy } from './backoff.ts';
import type { ChildLogLine } from './child-log.ts';
import type { LadderStep, ShutdownLadder } from './shutdown.ts';

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
  /**
   * http: the Bearer token of the supervisor's own client (e.g. an internal child JWT). Asked before every request
   * (handshake, tools/list, each ping), never once per start: internal tokens live 60 s and a child runs for days.
   */
  readonly bearerToken?: () => Promise<string>;
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
  /**
   * An operator's stop (the console's stop button): the child leaves by the shutdown ladder and stays `stopped`
   * until restart(); unlike stop(), the supervisor stays usable. A no-op after stop().
   */
  halt(): Promise<void>;
  /**
   * An operator's restart: the running generation (if any) leaves by the ladder and a fresh one starts at once,
   * whatever the restart policy; earlier crashes are forgotten, so a crash-looping child gets another chance.
   * Resolves once the new generation is spawned (readiness is reported through the state). Rejects after stop().
   */
  restart(): Promise<void>;
}
