// What the console is given by whoever starts the proxy: the seams it reads and acts through. The launcher hands
// it a FleetControl for every child of the fleet (the proxy alone only knows the children it runs itself); the
// proxy hands it its gateway, policy, pins, activity feed and metrics. Types only.
import type { CompiledPolicy } from '../../auth/policy.ts';
import type { McpcpConfig } from '../../config/schema.ts';
import type { Logger } from '../../lib/log.ts';
import type { ActivityFeed } from './activity-feed.ts';
import type { ProxyUrls } from '../edge/public-url.ts';
import type { OriginGuard } from '../edge/origin-guard.ts';
import type { Gateway, Principal } from '../gateway/index.ts';
import type { ProxyMetrics } from '../metrics.ts';
import type { PasswordCheck } from '../oauth/passwords.ts';
import type { ToolPins } from '../tool-pins/pins.ts';

/** One child of the fleet as the fleet page shows it (the shape of `mcpcp status` rows). */
export interface FleetRow {
  readonly id: string;
  readonly transport: 'stdio' | 'http';
  readonly state: string;
  readonly pid?: number | undefined;
  readonly address?: string | undefined;
  readonly tools: number;
  readonly restarts?: number | undefined;
  readonly lastError?: string | undefined;
  readonly stderrTail?: readonly string[] | undefined;
  /** Who runs the process: the launcher (HTTP children it starts), the proxy (stdio), or nobody here (external). */
  readonly owner: 'launcher' | 'proxy' | 'external';
}

/** The fleet as the console reads and acts on it. */
export interface FleetControl {
  rows(): FleetRow[];
  /** ERR_NOT_FOUND for an unknown id; ERR_FORBIDDEN for a child nobody here runs (external). */
  restart(id: string): Promise<void>;
  stop(id: string): Promise<void>;
}

export interface ReloadStatus {
  /** Epoch ms of the last reload attempt, undefined before the first. */
  readonly at?: number | undefined;
  readonly ok: boolean;
  readonly error?: string | undefined;
  /** Rules in force. */
  readonly rules: number;
}

export interface TokenVerifierLike {
  verify(token: string): Promise<Principal>;
}

export interface ConsoleOptions {
  /** The config in force (policy reloads replace it). */
  config(): McpcpConfig;
  policy(): CompiledPolicy;
  configFile?: string | undefined;
  reloadStatus(): ReloadStatus;
  gateway: Pick<Gateway, 'handleMcp' | 'upstreamStates' | 'controlChild'>;
  fleet: FleetControl;
  pins?: ToolPins | undefined;
  activity: ActivityFeed;
  metrics: ProxyMetrics;
  /** Operator tokens (aud = <publicUrl>/console). */
  operatorVerifier: TokenVerifierLike;
  /** Agent tokens (aud = <publicUrl>/mcp): channel members sign in with their own. */
  agentVerifier: TokenVerifierLike;
  /** Proxy replicas: the key console sessions are sealed with (the same on every replica); else they stay in memory. */
  sessionKey?: Uint8Array | undefined;
  /** With OAuth on: the authorization server's password check, so people from oauth.users sign in by password. */
  passwords?: PasswordCheck | undefined;
  urls: ProxyUrls;
  guard: OriginGuard;
  logger: Logger;
  now?: () => number;
}
