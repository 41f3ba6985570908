import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemaFile, renderConfigJsonSchema } from '../../../config/json-schema.ts';
import { repoRoot } from './helpers.ts';

describe('config JSON Schema', () => {
  it('matches the committed config/mcpcp.schema.json (run `npm run schema` after changing config/schema.ts)', async () => {
    const committed = await readFile(path.join(repoRoot, jsonSchemaFile), 'utf8').catch(() => '');
    const fresh = renderConfigJsonSchema();
    if (committed !== fresh) {
      expect.fail(
        `${jsonSchemaFile} is out of date with config/schema.ts: run \`npm run schema\` and commit it`,
      );
    }
  });

  it('leaves defaulted fields optional for editors', () => {
    const schema = JSON.parse(renderConfigJsonSchema()) as {
      required?: string[];
      properties: { proxy: { required?: string[] } };
    };
    expect(schema.required ?? []).toEqual([]);
    expect(schema.properties.proxy.required ?? []).toEqual([]);
  });
});
