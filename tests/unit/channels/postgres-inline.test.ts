// Values written into a statement as literals (postgres-inline.ts): hostile strings come back from PostgreSQL exactly
// as the parameterised form stores them, `$10` is never read as `$1`, and a value it cannot write, or a placeholder
// without a value, is a clear error before anything is sent.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineStatement } from '../../../servers/channels/store/postgres-inline.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { serviceAvailable } from '../../support/services.ts';

describe('inlineStatement', () => {
  it('writes each placeholder as its literal, longest number first', () => {
    const values = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(inlineStatement('SELECT $1::int, $10::int, $2', values)).toBe('SELECT 1::int, 10::int, 2');
    expect(inlineStatement('SELECT $1, $2, $3, $4', [null, true, false, undefined])).toBe(
      'SELECT NULL, TRUE, FALSE, NULL',
    );
    expect(inlineStatement('SELECT $1::text[], $2::int[]', [['a', "b'c"], []])).toBe(
      `SELECT ARRAY['a','b''c']::text[], ARRAY[]::int[]`,
    );
  });

  it('refuses a placeholder without a value and a value it cannot write', () => {
    expect(() => inlineStatement('SELECT $2', [1])).toThrow(/placeholder \$2 has no value/);
    expect(() => inlineStatement('SELECT $0', [1])).toThrow(/placeholder \$0 has no value/);
    expect(() => inlineStatement('SELECT $1', [1.5])).toThrow(/cannot inline the number 1.5/);
    expect(() => inlineStatement('SELECT $1', [2 ** 60])).toThrow(/cannot inline the number/);
    expect(() => inlineStatement('SELECT $1', [{ a: 1 }])).toThrow(/cannot inline a object/);
    expect(() => inlineStatement('SELECT $1', [10n])).toThrow(/cannot inline a bigint/);
    let thrown: unknown;
    try {
      inlineStatement('SELECT $1', [Symbol('x')]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'ERR_INTERNAL', message: 'cannot inline a symbol' });
  });
});

describe.runIf(serviceAvailable('postgres'))('inlineStatement on PostgreSQL', () => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await createTestDatabase('mcpcp_inline');
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('reads back hostile strings exactly as the parameterised statement does', async () => {
    const hostile = [
      "it's",
      'back\\slash \\x00 \\\\',
      '$1 $$ $tag$ dollar',
      `{"json":"with \\"quotes\\" and \\n"}`,
      "'); DROP TABLE x; --",
      'ünïcödé ✓ 🂡',
      '',
    ];
    const text = 'SELECT $1::text AS one, $2::text[] AS many, $3::int AS n';
    const values = [hostile.join('|'), hostile, 7];
    const parameterised = await client.query(text, values);
    const inlined = await client.query(inlineStatement(text, values));
    expect(inlined.rows).toEqual(parameterised.rows);
    expect(inlined.rows[0]).toEqual({ one: hostile.join('|'), many: hostile, n: 7 });
  });
});
