// Remembers tokens that verified, until they expire, so a client's repeated requests skip the RSA check.
// Bounded (least recently used entries go first). It never answers for a token at or past its exp, and the
// caller re-checks that the signing kid is still published; it must not verify anything itself.

export interface CachedVerification<T> {
  value: T;
  kid: string;
  /** epoch seconds */
  exp: number;
  /** epoch seconds, when the token had one */
  nbf: number | undefined;
}

export interface TokenCache<T> {
  /** The entry for a token valid at `nowSeconds`, or undefined (expired entries are dropped). */
  get(token: string, nowSeconds: number): CachedVerification<T> | undefined;
  set(token: string, entry: CachedVerification<T>): void;
  delete(token: string): void;
  readonly size: number;
}

export function createTokenCache<T>(maxEntries: number): TokenCache<T> {
  const entries = new Map<string, CachedVerification<T>>();
  const touched = new WeakMap<CachedVerification<T>, number>();
  return {
    get(token, nowSeconds) {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      if (nowSeconds >= entry.exp || (entry.nbf !== undefined && nowSeconds < entry.nbf)) {
        entries.delete(token);
        return undefined;
      }
      // Map keeps insertion order: re-inserting marks the entry as most recently used. Once a second per
      // entry is enough for that order, and spares a busy client's every request two map writes.
      if (touched.get(entry) !== nowSeconds) {
        touched.set(entry, nowSeconds);
        entries.delete(token);
        entries.set(token, entry);
      }
      return entry;
    },
    set(token, entry) {
      if (maxEntries <= 0) return;
      entries.delete(token);
      entries.set(token, entry);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    delete(token) {
      entries.delete(token);
    },
    get size() {
      return entries.size;
    },
  };
}
