// What the authorization server keeps, and where: the contract both stores meet (oidc-provider's adapter per model,
// plus the agent each grant acts as and the server's own secrets), and the choice between them by address. SQLite
// (a file, the default) serves one proxy; `postgres://…` serves every replica of one fleet. Bearer values (codes,
// refresh and registration tokens) are stored only as SHA-256 hashes in both, so a copy grants nothing.
// Neither decides anything about OAuth: oidc-provider does; a store only keeps what it is given.
import { createHash } from 'node:crypto';
import type { Logger } from '../../lib/log.ts';
import { isPostgresUrl } from '../../lib/postgres/address.ts';

/** Models whose id is itself a bearer credential: kept only as a hash. */
export const hashedModels = new Set([
  'AuthorizationCode',
  'RefreshToken',
  'RegistrationAccessToken',
  'AccessToken',
  'ClientCredentials',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

export type AdapterPayload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
  jti?: string;
};

/** The values of one stored row: model, key, payload JSON, grant id, uid, user-code hash, expiry (epoch ms). */
export type RecordRow = [string, string, string, string | null, string | null, string | null, number | null];

/** How one model's rows are keyed, written and read back: the same in both stores. */
export function recordsOf(model: string, now: () => number) {
  const hashed = hashedModels.has(model);
  const key = (id: string): string => (hashed ? sha256(id) : id);
  return {
    key,
    row: (id: string, payload: AdapterPayload, expiresIn: number | undefined): RecordRow => {
      const stored: AdapterPayload = { ...payload };
      // A bearer id is the credential itself: only its hash is kept, and it is put back on read.
      if (hashed) delete stored.jti;
      return [
        model,
        key(id),
        JSON.stringify(stored),
        payload.grantId ?? null,
        payload.uid ?? null,
        payload.userCode === undefined ? null : sha256(payload.userCode),
        typeof expiresIn === 'number' ? now() + expiresIn * 1000 : null,
      ];
    },
    /** A found payload, with the bearer id it was found by. */
    read: (payload: AdapterPayload | undefined, id?: string): AdapterPayload | undefined => {
      if (payload !== undefined && hashed && id !== undefined) payload.jti = id;
      return payload;
    },
  };
}

/** The adapter interface oidc-provider calls (one instance per model name). */
export interface ModelAdapter {
  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<AdapterPayload | undefined>;
  findByUid(uid: string): Promise<AdapterPayload | undefined>;
  findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface GrantBinding {
  user: string;
  agent: string;
}

export interface OAuthStore {
  adapterFor(model: string): ModelAdapter;
  /** Records which agent a grant acts as (set once, at consent). */
  setGrantAgent(grantId: string, user: string, agent: string): Promise<void>;
  /**
   * The agent and user of a live grant, or undefined when it was revoked or has expired. Asked on every request an
   * OAuth token makes, so a shared store answers from memory kept in step by notifications.
   */
  grantAgent(grantId: string): Promise<GrantBinding | undefined>;
  /** A secret that survives restarts and is the same on every replica (cookie keys), created on first use. */
  secret(name: string): Promise<string>;
  /** Removes expired rows; returns how many. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Opens the store at `address`: `:memory:`, a SQLite file path (already resolved against the config's folder) or a
 * `postgres://…[?schema=NAME]` address (schema default `mcpcp_oauth`).
 */
export async function openOAuthStore(options: {
  address: string;
  logger: Logger;
  now?: () => number;
}): Promise<OAuthStore> {
  if (isPostgresUrl(options.address)) {
    // Loaded only when asked for: the embedded default never loads the driver.
    const { openPostgresOAuthStore } = await import('./store-postgres.ts');
    return openPostgresOAuthStore({ url: options.address, logger: options.logger, now: options.now });
  }
  const { openSqliteOAuthStore } = await import('./store-sqlite.ts');
  return openSqliteOAuthStore({ file: options.address, now: options.now });
}
