// The small fleet the console's HTTP-level tests run a real proxy on: fresh keys in a fresh folder and one stdio
// child, `kid` (tests/fixtures/servers/test-child.ts), whose tools the given agents may use.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '../../../auth/keys.ts';
import { fixture } from '../proxy/harness.ts';

export async function writeKidFleet(options: {
  prefix: string;
  /** Agents allowed kid's tools (alice and bob are declared either way). */
  subjects: readonly string[];
  /** More `proxy:` fields, as YAML flow entries (`publicUrl: …, replicas: 2`). */
  proxy?: string;
  /** More top-level YAML (an `oauth:` section). */
  extra?: string;
}): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), options.prefix));
  await generateKeyPair(join(dir, 'keys'));
  const file = join(dir, 'mcpcp.yaml');
  await writeFile(
    file,
    `proxy: { listen: { host: 127.0.0.1, port: 0 }, keysDir: ./keys${options.proxy === undefined ? '' : `, ${options.proxy}`} }
servers:
  - id: kid
    transport: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(fixture)}, --name, kid]
agents: { alice: {}, bob: {} }
policy:
  rules:
    - { id: kid-users, subjects: [${options.subjects.join(', ')}], servers: [kid], allow: ['kid_*'] }
${options.extra ?? ''}`,
  );
  return { dir, file };
}
