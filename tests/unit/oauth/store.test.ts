// The OAuth store contract, run against both stores: SQLite (one proxy) and PostgreSQL (replicas). Bearer ids are kept
// only as hashes, a consumed code says so, a grant's revocation removes everything issued under it, expired rows are
// neither found nor kept, and secrets are created once. PostgreSQL adds what only a shared store has: two replicas see
// one truth, a grant known to a replica costs no round trip, and a revocation on one replica reaches the other's
// memory through NOTIFY.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSilentLogger } from '../../../lib/log.ts';
import { openPostgresOAuthStore, type PostgresOAuthStore } from '../../../proxy/oauth/store-postgres.ts';
import { openOAuthStore, sha256, type OAuthStore } from '../../../proxy/oauth/store.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { serviceAvailable } from '../../support/services.ts';

const logger = createSilentLogger();

function runOAuthStoreSuite(name: string, open: (now: () => number) => Promise<OAuthStore>): void {
  describe(`${name} OAuth store`, () => {
    let clock = 1_000_000;
    let store: OAuthStore;
    beforeAll(async () => {
      store = await open(() => clock);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('finds what it keeps, by id, uid and user code, and returns a bearer id only to who knows it', async () => {
      const codes = store.adapterFor('AuthorizationCode');
      await codes.upsert('code-1', { grantId: 'g-1', jti: 'code-1', scope: 'mcp' }, 60);
      expect(await codes.find('code-1')).toMatchObject({ grantId: 'g-1', jti: 'code-1', scope: 'mcp' });
      expect(await codes.find('code-2')).toBeUndefined();
      const sessions = store.adapterFor('Session');
      await sessions.upsert('s-1', { uid: 'u-1', accountId: 'carol' }, 60);
      expect(await sessions.findByUid('u-1')).toMatchObject({ accountId: 'carol' });
      const devices = store.adapterFor('DeviceCode');
      await devices.upsert('d-1', { userCode: 'ABCD-EFGH', grantId: 'g-1' }, 60);
      expect(await devices.findByUserCode('ABCD-EFGH')).toMatchObject({ grantId: 'g-1' });
      expect(await devices.findByUserCode('ABCD-EFGX')).toBeUndefined();
      // Another model's rows never answer for this one.
      expect(await store.adapterFor('RefreshToken').find('code-1')).toBeUndefined();
    });

    it('marks a consumed code and replaces a row on upsert', async () => {
      const codes = store.adapterFor('AuthorizationCode');
      await codes.upsert('code-c', { grantId: 'g-c' }, 60);
      await codes.consume('code-c');
      expect((await codes.find('code-c'))?.consumed).toBe(Math.floor(clock / 1000));
      const clients = store.adapterFor('Client');
      await clients.upsert('client-1', { client_name: 'one' });
      await clients.upsert('client-1', { client_name: 'two' });
      expect(await clients.find('client-1')).toEqual({ client_name: 'two' });
      await clients.destroy('client-1');
      expect(await clients.find('client-1')).toBeUndefined();
    });

    it('binds a grant to its agent until the grant is revoked, and revokes what was issued under it', async () => {
      const grants = store.adapterFor('Grant');
      const refresh = store.adapterFor('RefreshToken');
      await grants.upsert('g-r', { accountId: 'carol', clientId: 'c' }, 3600);
      await refresh.upsert('rt-1', { grantId: 'g-r' }, 3600);
      expect(await store.grantAgent('g-r')).toBeUndefined();
      await store.setGrantAgent('g-r', 'carol', 'alice');
      expect(await store.grantAgent('g-r')).toEqual({ user: 'carol', agent: 'alice' });
      // A re-save of the grant (oidc-provider does on refresh) keeps its agent.
      await grants.upsert('g-r', { accountId: 'carol', clientId: 'c', rev: 2 }, 3600);
      expect(await store.grantAgent('g-r')).toEqual({ user: 'carol', agent: 'alice' });
      await refresh.revokeByGrantId('g-r');
      expect(await refresh.find('rt-1')).toBeUndefined();
      await grants.destroy('g-r');
      await vi.waitFor(async () => expect(await store.grantAgent('g-r')).toBeUndefined());
    });

    it('neither finds nor keeps what has expired', async () => {
      const grants = store.adapterFor('Grant');
      await grants.upsert('g-e', { accountId: 'carol' }, 10);
      await store.setGrantAgent('g-e', 'carol', 'bob');
      await store.adapterFor('RefreshToken').upsert('rt-e', { grantId: 'g-e' }, 10);
      expect(await store.grantAgent('g-e')).toEqual({ user: 'carol', agent: 'bob' });
      clock += 11_000;
      expect(await store.grantAgent('g-e')).toBeUndefined();
      expect(await grants.find('g-e')).toBeUndefined();
      expect(await store.sweep()).toBeGreaterThanOrEqual(2);
      expect(await store.sweep()).toBe(0);
    });

    it('creates a secret once and keeps it', async () => {
      const first = await store.secret('cookie-key');
      expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await store.secret('cookie-key')).toBe(first);
      expect(await store.secret('csrf-key')).not.toBe(first);
    });
  });
}

runOAuthStoreSuite('SQLite', (now) => openOAuthStore({ address: ':memory:', logger, now }));

const enabled = serviceAvailable('postgres');

describe.runIf(enabled)('PostgreSQL', () => {
  let db: TestDatabase;
  const schemaUrl = (schema = `s_${randomBytes(5).toString('hex')}`): string => {
    const url = new URL(db.url);
    url.searchParams.set('schema', schema);
    return url.toString();
  };
  beforeAll(async () => {
    db = await createTestDatabase('mcpcp_oauth');
  });
  afterAll(async () => {
    await db?.drop();
  });

  runOAuthStoreSuite('PostgreSQL', (now) => openOAuthStore({ address: schemaUrl(), logger, now }));

  describe('shared by two replicas', () => {
    let a: PostgresOAuthStore;
    let b: PostgresOAuthStore;
    const schema = `s_${randomBytes(5).toString('hex')}`;
    beforeAll(async () => {
      const url = schemaUrl(schema);
      // Both start at once: the migration runs exactly once.
      [a, b] = await Promise.all([
        openPostgresOAuthStore({ url, logger }),
        openPostgresOAuthStore({ url, logger }),
      ]);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query(`SELECT id FROM "${schema}".migrations`);
        expect(rows).toEqual([{ id: 1 }]);
        // Bearer ids are kept only as hashes.
        await a.adapterFor('RefreshToken').upsert('rt-secret', { grantId: 'g-x' }, 60);
        const ids = await client.query(`SELECT id FROM "${schema}".records WHERE model = 'RefreshToken'`);
        expect(ids.rows).toEqual([{ id: sha256('rt-secret') }]);
      } finally {
        await client.end();
      }
    });
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
    });
    it('agrees on secrets, whichever replica made them', async () => {
      const [fromA, fromB] = await Promise.all([a.secret('shared-key'), b.secret('shared-key')]);
      expect(fromA).toBe(fromB);
    });

    it('answers a known grant from memory and hears a revocation made on the other replica', async () => {
      await a.adapterFor('Grant').upsert('g-1', { accountId: 'carol' }, 3600);
      await a.setGrantAgent('g-1', 'carol', 'alice');
      expect(await b.grantAgent('g-1')).toEqual({ user: 'carol', agent: 'alice' });
      // Once the notification of the binding's own write has arrived, b keeps what it reads.
      await vi.waitFor(async () => {
        const sent = b.roundTrips;
        await b.grantAgent('g-1');
        expect(b.roundTrips).toBe(sent);
      });
      const before = b.roundTrips;
      for (let i = 0; i < 100; i += 1)
        expect(await b.grantAgent('g-1')).toEqual({ user: 'carol', agent: 'alice' });
      expect(b.roundTrips - before).toBe(0);

      await a.adapterFor('Grant').destroy('g-1');
      await vi.waitFor(async () => expect(await b.grantAgent('g-1')).toBeUndefined(), {
        timeout: 2000,
        interval: 2,
      });
      expect(await a.grantAgent('g-1')).toBeUndefined();
    });

    it('forgets what it knew when its LISTEN connection is cut, and hears again afterwards', async () => {
      await a.adapterFor('Grant').upsert('g-2', { accountId: 'carol' }, 3600);
      await a.setGrantAgent('g-2', 'carol', 'bob');
      expect(await b.grantAgent('g-2')).toEqual({ user: 'carol', agent: 'bob' });
      // Cut every LISTEN connection of this database (what a PostgreSQL restart or a network cut does).
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`,
        );
        // Revoked while b may not be listening: b must not keep answering from memory.
        await admin.query(`DELETE FROM "${schema}".records WHERE id = 'g-2'`);
      } finally {
        await admin.end();
      }
      await vi.waitFor(async () => expect(await b.grantAgent('g-2')).toBeUndefined(), {
        timeout: 5000,
        interval: 20,
      });
      // Listening again: a later revocation is heard (the memory would otherwise keep answering).
      await a.adapterFor('Grant').upsert('g-3', { accountId: 'carol' }, 3600);
      await a.setGrantAgent('g-3', 'carol', 'bob');
      await vi.waitFor(async () => {
        const sent = b.roundTrips;
        expect(await b.grantAgent('g-3')).toEqual({ user: 'carol', agent: 'bob' });
        expect(b.roundTrips).toBe(sent);
      });
      await a.adapterFor('Grant').destroy('g-3');
      await vi.waitFor(async () => expect(await b.grantAgent('g-3')).toBeUndefined(), {
        timeout: 5000,
        interval: 20,
      });
    });
  });
});
