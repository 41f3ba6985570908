// A fresh PostgreSQL database per test file (or per test) on the cluster named by MCPCP_TEST_POSTGRES_URL, so test
// files running in parallel never see each other's rows or notifications. Dropped again by `drop()`.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { services } from './services.ts';

export interface TestDatabase {
  /** postgres:// URL of the fresh database. */
  url: string;
  /** Drops the database (terminating connections left open by a killed process). */
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = services.postgres.value;
  if (url === undefined) throw new Error(services.postgres.reason);
  return url;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(prefix = 'mcpcp_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
