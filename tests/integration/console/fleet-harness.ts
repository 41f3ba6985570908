// A real fleet for the console's browser tests: the embedded default fleet (server-everything, server-memory,
// channels, bot-runner) plus a fifth stdio child, `kid` (tests/fixtures/servers/test-child.ts, which can change its
// own echo tool on request), started by the real CLI (`mcpcp up --json --port 0`) in a fresh data folder; agents'
// MCP clients with the tokens `mcpcp up` wrote; the CLI for operator tokens, `demo` and `policy explain`.
import { createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { execa, type ResultPromise } from 'execa';
import { ensureDefaultFleet } from '../../../launcher/fleet/default-fleet.ts';

const cli = new URL('../../../launcher/bin/mcpcp.ts', import.meta.url).pathname;
const testChild = new URL('../../fixtures/servers/test-child.ts', import.meta.url).pathname;

export interface RealFleet {
  dir: string;
  dataDir: string;
  baseUrl: string;
  mcpUrl: string;
  tokens: Record<string, string>;
  /** Runs the CLI; `--data-dir` of this fleet is added unless `own` is false. */
  run(
    args: string[],
    own?: boolean,
  ): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }>;
  connect(agent: string): Promise<Client>;
  stop(): Promise<void>;
}

export async function startRealFleet(logFile: string): Promise<RealFleet> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpcp-console-'));
  const dataDir = join(dir, 'data');
  const files = await ensureDefaultFleet(dataDir);
  const yaml = await readFile(files.configFile, 'utf8');
  // A fifth child the test can make change its own tool definition; agent_name1 may use it.
  const kid = `  - id: kid
    transport: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(testChild)}, --name, kid]
`;
  await writeFile(files.configFile, yaml.replace('\ngroups:', `${kid}\ngroups:`));
  await appendFile(
    files.configFile,
    `    - id: agent1-kid
      subjects: [agent_name1]
      servers: [kid]
      allow: ['kid_*']
`,
  );
  const up = execa(process.execPath, [cli, 'up', '--json', '--port', '0', '--data-dir', dataDir], {
    cwd: dir,
    buffer: false,
    reject: false,
  }) as ResultPromise<{ buffer: false; reject: false }>;
  // The fleet's own log, for a failing test to look at (kept in the artifacts folder).
  up.stderr.pipe(createWriteStream(logFile));
  const connect = await new Promise<{ mcpUrl: string; consoleUrl: string; tokens: string[] }>(
    (resolve, reject) => {
      let text = '';
      const timer = setTimeout(
        () => reject(new Error(`the fleet did not start: ${text.slice(-2000)}`)),
        90_000,
      );
      up.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        for (const line of text.split('\n')) {
          if (!line.includes('"event":"connect"')) continue;
          clearTimeout(timer);
          resolve(JSON.parse(line) as { mcpUrl: string; consoleUrl: string; tokens: string[] });
        }
      });
      void up.then(() => reject(new Error(`mcpcp up exited: ${text.slice(-2000)}`)));
    },
  );
  const tokens: Record<string, string> = {};
  for (const file of connect.tokens) {
    const agent = file
      .split('/')
      .at(-1)!
      .replace(/\.jwt$/, '');
    tokens[agent] = (await readFile(file, 'utf8')).trim();
  }
  const clients: Client[] = [];
  return {
    dir,
    dataDir,
    baseUrl: connect.consoleUrl.replace(/\/console$/, ''),
    mcpUrl: connect.mcpUrl,
    tokens,
    async run(args, own = true) {
      const result = await execa(process.execPath, [cli, ...args, ...(own ? ['--data-dir', dataDir] : [])], {
        cwd: dir,
        reject: false,
        timeout: 120_000,
      });
      return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    async connect(agent) {
      const client = new Client({ name: `test-${agent}`, version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(connect.mcpUrl), {
          requestInit: { headers: { authorization: `Bearer ${tokens[agent]}` } },
        }),
      );
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      if (up.nodeChildProcess.exitCode === null) up.kill('SIGTERM');
      const timer = setTimeout(() => up.kill('SIGKILL'), 15_000);
      await up;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
