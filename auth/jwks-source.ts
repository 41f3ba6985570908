// Where verification keys come from: a JWKS given in memory, a key folder's jwks.json (re-read when the file
// changes, so rotation needs no restart) or a remote JWKS URL (bounded cache, cooldown, timeout, size cap).
// It resolves a key by kid and answers whether a kid is still published; it must not check claims.
import { stat } from 'node:fs/promises';
import {
  createLocalJWKSet,
  errors,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
} from 'jose';
import { McpcpError } from '../lib/errors.ts';
import { isNotFound, jwksPath, parseJwks, readJwksFile } from './key-files.ts';

export type JwksOption = { keys: JSONWebKeySet } | { dir: string } | { url: string };

export interface RemoteJwksOptions {
  /** Keys are refetched after this age (default 10 minutes). */
  cacheMaxAgeMs?: number;
  /** An unknown kid refetches at most once per this window (default 30 s). */
  cooldownMs?: number;
  /** Fetch timeout (default 5 s). */
  timeoutMs?: number;
  /** Largest accepted JWKS document (default 256 KiB). */
  maxBytes?: number;
}

export interface DirJwksOptions {
  /** How often the folder's jwks.json is checked for changes (default 1000 ms; 0 = every time). */
  reloadIntervalMs?: number;
}

export interface KeySource {
  /** A verification key for the token's header; throws ERR_TOKEN_UNKNOWN_KEY when no key has its kid. */
  getKey(header: JWSHeaderParameters): Promise<CryptoKey>;
  /** Whether a kid is still published (so cached verifications die with a removed key). */
  hasKid(kid: string): Promise<boolean>;
}

type Resolver = ReturnType<typeof createLocalJWKSet>;

interface KeySet {
  resolve: Resolver;
  kids: ReadonlySet<string>;
}

export function createKeySource(
  option: JwksOption,
  tuning: RemoteJwksOptions & DirJwksOptions = {},
): KeySource {
  if ('keys' in option) return createStaticSource(option.keys);
  if ('dir' in option) return createDirSource(option.dir, tuning.reloadIntervalMs ?? 1000);
  if ('url' in option) return createRemoteSource(option.url, tuning);
  throw new McpcpError('ERR_INVALID_ARGUMENT', 'jwks must be {keys}, {dir} or {url}');
}

function createStaticSource(jwks: JSONWebKeySet): KeySource {
  const set = buildKeySet(jwks);
  return {
    getKey: (header) => resolveKey(set, header),
    hasKid: (kid) => Promise.resolve(set.kids.has(kid)),
  };
}

function createDirSource(dir: string, reloadIntervalMs: number): KeySource {
  let set: KeySet | undefined;
  let version = '';
  let checkedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<KeySet> | undefined;

  async function reload(): Promise<KeySet> {
    const file = jwksPath(dir);
    let current = 'missing';
    try {
      const info = await stat(file);
      current = `${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    checkedAt = performance.now();
    if (set !== undefined && current === version) return set;
    if (current === 'missing') {
      // Keys deleted: fail closed, every token is now signed by an unknown key.
      set = buildKeySet({ keys: [] });
    } else {
      try {
        set = buildKeySet((await readJwksFile(dir)) ?? { keys: [] });
      } catch (error) {
        // A broken edit keeps the previous keys (writes by `mcpcp keys` are atomic); none yet: fail.
        if (set === undefined) throw error;
      }
    }
    version = current;
    return set;
  }

  async function current(force: boolean): Promise<KeySet> {
    if (!force && set !== undefined && performance.now() - checkedAt < reloadIntervalMs) return set;
    pending ??= reload().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  return {
    async getKey(header) {
      const first = await current(false);
      if (typeof header.kid === 'string' && !first.kids.has(header.kid)) {
        // Maybe rotated a moment ago: check the file once more before calling the kid unknown.
        return resolveKey(await current(true), header);
      }
      return resolveKey(first, header);
    },
    async hasKid(kid) {
      return (await current(false)).kids.has(kid);
    },
  };
}

function createRemoteSource(url: string, options: RemoteJwksOptions): KeySource {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new McpcpError('ERR_INVALID_ARGUMENT', `JWKS URL must be http(s): ${url}`);
  }
  const maxAge = options.cacheMaxAgeMs ?? 600_000;
  const cooldown = options.cooldownMs ?? 30_000;
  const timeout = options.timeoutMs ?? 5_000;
  const maxBytes = options.maxBytes ?? 256 * 1024;
  let set: KeySet | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<KeySet> | undefined;

  function refetch(): Promise<KeySet> {
    pending ??= fetchJwks(target, timeout, maxBytes)
      .then((jwks) => {
        set = buildKeySet(jwks);
        fetchedAt = performance.now();
        return set;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  }

  async function fresh(): Promise<KeySet> {
    if (set !== undefined && performance.now() - fetchedAt < maxAge) return set;
    return refetch();
  }

  return {
    async getKey(header) {
      const first = await fresh();
      if (
        typeof header.kid === 'string' &&
        !first.kids.has(header.kid) &&
        performance.now() - fetchedAt >= cooldown
      ) {
        return resolveKey(await refetch(), header);
      }
      return resolveKey(first, header);
    },
    async hasKid(kid) {
      return (await fresh()).kids.has(kid);
    },
  };
}

/** One bounded GET of a remote JWKS: no redirects, a timeout, a size cap; ERR_JWKS_FETCH on any failure. */
export async function fetchJwks(url: URL, timeoutMs = 5_000, maxBytes = 256 * 1024): Promise<JSONWebKeySet> {
  let text: string;
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    text = await readLimited(response, maxBytes);
  } catch (cause) {
    throw new McpcpError('ERR_JWKS_FETCH', `cannot fetch JWKS from ${url.href}`, { cause });
  }
  try {
    return parseJwks(text, url.href);
  } catch (cause) {
    throw new McpcpError('ERR_JWKS_FETCH', `invalid JWKS at ${url.href}`, { cause });
  }
}

async function readLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`JWKS larger than ${maxBytes} bytes`);
  }
  if (response.body === null) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new Error(`JWKS larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Keeps only public RSA signing keys with a kid: a private member or a foreign key type never gets in. */
function buildKeySet(jwks: JSONWebKeySet): KeySet {
  const keys: JWK[] = [];
  const seen = new Set<string>();
  for (const key of jwks.keys) {
    if (key.kty !== 'RSA' || typeof key.kid !== 'string' || key.kid === '') continue;
    if (seen.has(key.kid)) continue; // duplicate kids: the first (newest) wins
    seen.add(key.kid);
    if (typeof key.n !== 'string' || typeof key.e !== 'string') continue;
    if (key.use !== undefined && key.use !== 'sig') continue;
    if (key.alg !== undefined && key.alg !== 'RS256') continue;
    keys.push({ kty: 'RSA', n: key.n, e: key.e, kid: key.kid, alg: 'RS256', use: 'sig' });
  }
  return { resolve: createLocalJWKSet({ keys }), kids: new Set(keys.map((key) => String(key.kid))) };
}

async function resolveKey(set: KeySet, header: JWSHeaderParameters): Promise<CryptoKey> {
  if (typeof header.kid !== 'string' || !set.kids.has(header.kid)) {
    throw new McpcpError('ERR_TOKEN_UNKNOWN_KEY', 'token signed by an unknown key', {
      details: { kid: header.kid },
    });
  }
  try {
    return await set.resolve(header);
  } catch (cause) {
    if (cause instanceof errors.JWKSNoMatchingKey || cause instanceof errors.JWKSMultipleMatchingKeys) {
      throw new McpcpError('ERR_TOKEN_UNKNOWN_KEY', 'token signed by an unknown key', { cause });
    }
    throw cause;
  }
}
