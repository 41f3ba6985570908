// Builds the editor JSON Schema of mcpcp.yaml from the zod schema (input side: defaults are optional).
// It must not write files; config/scripts/write-json-schema.ts does, and a test checks for drift.
import { z } from 'zod';
import { mcpcpConfigSchema } from './schema.ts';

export const jsonSchemaFile = 'config/mcpcp.schema.json';

export function buildConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(mcpcpConfigSchema, {
    io: 'input',
    target: 'draft-7',
    unrepresentable: 'any',
  });
  return {
    ...schema,
    title: 'MCPCP configuration (mcpcp.yaml)',
  };
}

/** The exact text written to disk: stable key order from the schema, two-space indent, final newline. */
export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(buildConfigJsonSchema(), null, 2)}\n`;
}
