// What a running fleet reports: its status (rows per server) and its progress events. Types only; shared by
// fleet.ts, the commands that render them and the admin socket.
import type { McpcpConfig } from '../../config/schema.ts';
import type { Logger } from '../../lib/log.ts';
import type { FleetRow } from '../../proxy/console/types.ts';
import type { RunningProxy } from '../../proxy/start.ts';
import type { PingOptions } from '../../supervisor/liveness.ts';

/** One server in the status: the row the console's fleet page shows, declared once in the proxy's console types. */
export type ServerRow = FleetRow;

export interface FleetStatus {
  readonly pid: number;
  readonly dataDir: string;
  readonly configFile?: string | undefined;
  readonly startedAt: string;
  readonly proxy: {
    readonly url: string;
    readonly mcpUrl: string;
    readonly resource: string;
    readonly issuer: string;
  };
  readonly servers: readonly ServerRow[];
}

export type FleetEvent =
  | { event: 'child-starting'; id: string; transport: 'stdio' | 'http' }
  | {
      event: 'child-ready';
      id: string;
      ms: number;
      tools: number;
      pid?: number | undefined;
      address?: string | undefined;
    }
  | {
      event: 'child-failed';
      id: string;
      ms: number;
      error: string;
      hint: string;
      stderrTail: readonly string[];
    }
  | { event: 'child-state'; id: string; state: string; lastError?: string | undefined }
  | { event: 'child-log'; id: string; stream: string; line: string }
  | { event: 'fleet-ready'; ms: number; status: FleetStatus }
  | { event: 'fleet-stopping'; reason: string }
  | { event: 'fleet-stopped'; ms: number };

export interface FleetOptions {
  readonly config: McpcpConfig;
  readonly configFile?: string | undefined;
  readonly dataDir: string;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  /** Per-child log files `<logDir>/<id>.log` for the children the launcher starts. */
  readonly logDir?: string | undefined;
  readonly logger: Logger;
  readonly onEvent: (event: FleetEvent) => void;
  /** How long in-flight calls get to finish on stop (default 10 s). */
  readonly drainTimeoutMs?: number | undefined;
  /** Liveness pings of the children the launcher starts (default: the supervisor's, every 10 s). */
  readonly ping?: PingOptions | undefined;
}

export interface Fleet {
  readonly proxy: RunningProxy;
  status(): FleetStatus;
  /** Stops everything (idempotent); resolves when no process is left. */
  stop(reason: string): Promise<void>;
  /** Settles when the fleet has stopped, whoever asked. */
  readonly stopped: Promise<void>;
}
