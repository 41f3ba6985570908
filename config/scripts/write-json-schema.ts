// `npm run schema`: regenerates config/mcpcp.schema.json from the zod schema. Commit the result;
// tests/unit/config/json-schema.test.ts fails when the committed file drifts.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemaFile, renderConfigJsonSchema } from '../json-schema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const target = path.join(root, jsonSchemaFile);
await writeFile(target, renderConfigJsonSchema());
console.log(`wrote ${path.relative(process.cwd(), target) || target}`);
