// What a `postgres://` store address means: the connection (handed to the driver as is) and the schema the tables live
// in (the `schema` query parameter), plus a form safe to log (no password). The password may also come from the
// driver's own PGPASSWORD, so config files need not hold it. It must not connect.
import { McpcpError } from '../errors.ts';

/** Identifiers are interpolated into SQL, so only plain lowercase names are accepted. */
export const schemaNamePattern = /^[a-z_][a-z0-9_]{0,47}$/;

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

/** Parses a store address; `defaultSchema` applies when it has no `?schema=`. */
export function parsePostgresUrl(value: string, defaultSchema = 'mcpcp'): PostgresAddress {
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
  const schema = url.searchParams.get('schema') ?? defaultSchema;
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

/** A driver failure as ERR_STORE_UNAVAILABLE, with the driver's message but never the address. */
export function unavailable(error: unknown, message: string): McpcpError {
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new McpcpError('ERR_STORE_UNAVAILABLE', `${message}${detail}`, { cause: error });
}
