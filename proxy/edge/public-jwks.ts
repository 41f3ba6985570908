// The fleet's public JWKS as the proxy serves it at /.well-known/jwks.json, so anyone holding a channel receipt or an
// agent token can check its signature against the proxy's own origin (`mcpcp verify` does by default). Read from
// keysDir's jwks.json or fetched from jwksUrl, re-read after a short time so a rotated key appears, and stripped to
// public members: a private key must never leave through here, whatever the file holds.
import type { JSONWebKeySet, JWK } from 'jose';
import { fetchJwks } from '../../auth/jwks-source.ts';
import { loadJwks } from '../../auth/keys.ts';

export interface PublicJwksOptions {
  keysDir: string;
  jwksUrl?: string | undefined;
  /** How long a read JWKS is served before reading it again (default 60 s). */
  ttlMs?: number | undefined;
  now?: (() => number) | undefined;
}

/** JWK members that are secret (RFC 7518 §6.2.2, §6.3.2, §6.4.1, RFC 8037 `d`). */
const privateMembers = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

/** Keeps only public members, and only keys that are public keys at all (no symmetric `oct` keys). */
export function publicKeysOnly(jwks: JSONWebKeySet): JSONWebKeySet {
  const keys = jwks.keys
    .filter((key) => key.kty !== 'oct')
    .map(
      (key) => Object.fromEntries(Object.entries(key).filter(([name]) => !privateMembers.has(name))) as JWK,
    );
  return { keys };
}

export function createPublicJwksSource(options: PublicJwksOptions): () => Promise<JSONWebKeySet> {
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  let cached: { value: JSONWebKeySet; at: number } | undefined;
  let pending: Promise<JSONWebKeySet> | undefined;
  const read = async (): Promise<JSONWebKeySet> => {
    const raw =
      options.jwksUrl === undefined
        ? await loadJwks(options.keysDir)
        : await fetchJwks(new URL(options.jwksUrl));
    const value = publicKeysOnly(raw);
    cached = { value, at: now() };
    return value;
  };
  return () => {
    if (cached !== undefined && now() - cached.at < ttlMs) return Promise.resolve(cached.value);
    pending ??= read().finally(() => (pending = undefined));
    return pending;
  };
}
