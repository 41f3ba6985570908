// What a `postgres://` store address means: the connection (handed to the driver as is) and the schema the tables live
// in (the `schema` query parameter, default `mcpcp`), plus a form safe to log (no password). It must not connect.
import { McpcpError } from '../../../lib/errors.ts';
import { schemaNamePattern } from './postgres-schema.ts';

export interface PostgresAddress {
  /** Connection string for the driver, without MCPCP's own parameters. */
  connectionString: string;
  schema: string;
  /** The address with its password replaced, for logs and errors. */
  redacted: string;
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

export function parsePostgresUrl(value: string): PostgresAddress {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new McpcpError('ERR_CONFIG_INVALID', 'the store address is not a valid postgres:// URL', {
      cause: error,
    });
  }
  if (!isPostgresUrl(value)) {
    throw new McpcpError('ERR_CONFIG_INVALID', `the store address must start with postgres://`);
  }
  const schema = url.searchParams.get('schema') ?? 'mcpcp';
  if (!schemaNamePattern.test(schema)) {
    throw new McpcpError(
      'ERR_CONFIG_INVALID',
      `schema must match ${schemaNamePattern.source} (got ${JSON.stringify(schema)})`,
    );
  }
  url.searchParams.delete('schema');
  const redacted = new URL(url);
  if (redacted.password !== '') redacted.password = '***';
  return { connectionString: url.toString(), schema, redacted: redacted.toString() };
}
