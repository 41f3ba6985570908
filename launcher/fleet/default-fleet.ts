// The embedded default: with no config file, `mcpcp up` runs a working fleet from a data folder. On first run it
// generates keys and writes `<data-dir>/mcpcp.yaml` with two real MCP servers from npm (server-everything,
// server-memory, as stdio children run by this Node), MCPCP's own channels, bot-runner and code-runner servers
// (first-party HTTP children started by the launcher), the docker runner when a Docker engine answers
// (default-docker-runner.ts), and two demo agents that see different subsets and can meet in a channel.
// It must not start processes; fleet.ts does.
import { access, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair } from '../../auth/keys.ts';
import { defaultProxyPort } from '../../config/schema.ts';
import { ensurePrivateDir } from './admin-socket.ts';
import { ensureDefaultRunnerFile, type DefaultDockerRunner } from './default-docker-runner.ts';

export const demoAgents = ['agent_name1', 'agent_name2'] as const;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Absolute path of an npm package's bin script, so it runs with this Node (no npx, no shell). */
export function resolveBinScript(pkg: string, bin: string): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve(`${pkg}/package.json`);
  const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
  const relative = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[bin];
  if (relative === undefined) throw new Error(`${pkg} has no bin ${bin}`);
  return join(dirname(manifestPath), relative);
}

/** The compile-cache preload (launcher/bin/start-up.js): a warm child never loads Node's type stripper (~17 MB). */
const startUp = fileURLToPath(new URL('../bin/start-up.js', import.meta.url));

/** Entry script of a first-party server in this repository (servers/<name>/main.ts). */
function firstPartyMain(name: string): string {
  return fileURLToPath(new URL(`../../servers/${name}/main.ts`, import.meta.url));
}

export function defaultConfigText(options: {
  nodePath: string;
  dataDir: string;
  port?: number;
  /** Whether the fleet gets a docker runner (ensureDefaultRunnerFile); absent: none, without a word. */
  docker?: DefaultDockerRunner;
}): string {
  const everything = resolveBinScript('@modelcontextprotocol/server-everything', 'mcp-server-everything');
  const memory = resolveBinScript('@modelcontextprotocol/server-memory', 'mcp-server-memory');
  const q = (value: string) => JSON.stringify(value);
  const port = options.port ?? defaultProxyPort;
  // Explicit, so first-party children (which verify the proxy's internal tokens by issuer) agree with the proxy
  // even when `mcpcp up --port` moves the proxy.
  const issuer = `http://127.0.0.1:${port}`;
  const dataDir = resolve(options.dataDir);
  const firstParty = (name: string, extra: string[]) =>
    `  - id: ${name}
    transport: http
    url: http://127.0.0.1:0/mcp
    firstParty: true
    protocol: 2025-11-25
    readyTimeoutMs: 20000
    start:
      command: ${q(options.nodePath)}
      env: { MCPCP_LOG_LEVEL: warn }
      args: [${['--import', startUp, firstPartyMain(name), '--keys-dir', join(dataDir, 'keys'), '--issuer', issuer, '--data-dir', join(dataDir, name), ...extra].map(q).join(', ')}]`;
  return `# MCPCP default fleet, written by \`mcpcp up\` on first run. Edit freely: the policy reloads on save.
proxy:
  listen: { host: 127.0.0.1, port: ${port} }
  issuer: ${issuer}
  keysDir: ./keys

servers:
  - id: everything
    transport: stdio
    command: ${q(options.nodePath)}
    args: [${q(everything)}, stdio]
    readyTimeoutMs: 20000
  - id: memory
    transport: stdio
    command: ${q(options.nodePath)}
    args: [${q(memory)}]
    env: { MEMORY_FILE_PATH: ${q(join(dataDir, 'memory.jsonl'))} }
    readyTimeoutMs: 20000
  # MCPCP's own servers: channels where agents meet, refereed by bots whose code everyone can verify.
  # Bot hooks run inside the channels process (fastest, one port fewer); bot-runner offers the same sandbox as a
  # tool (run_hook). To run hooks in bot-runner instead: give it a fixed url (http://127.0.0.1:9004/mcp) and the
  # args --port 9004, and add to channels' args: --bot-runner-url http://127.0.0.1:9004/mcp
  # --import …/start-up.js turns on Node's compile cache: a warm start never loads the TypeScript stripper (~17 MB).
  # protocol 2025-11-25: the proxy keeps one session per agent with them (their 2026-07-28 path builds a server per
  # request); agents still speak whichever revision they like to the proxy.
${firstParty('channels', [])}
${firstParty('bot-runner', [])}
  # Runs agents' Python (Pyodide, one locked-down Node process per run from a warm pool) and JavaScript (QuickJS).
  # --python-pool N: interpreters kept warm (0 turns Python off). See servers/code-runner/README.md.
${firstParty('code-runner', [])}
${dockerRunnerEntry(options.docker, firstParty)}

groups:
  players: [agent_name1, agent_name2]

agents:
  agent_name1: { description: demo agent that uses the everything server and may only read memory }
  agent_name2: { description: demo agent that owns the memory server and may only echo }

policy:
  rules:
    - id: agent1-everything
      subjects: [agent_name1]
      servers: [everything]
      allow: ['everything_*']
      deny: ['everything_get-env']
    - id: agent1-memory-read
      subjects: [agent_name1]
      servers: [memory]
      allow: [memory_read_graph, memory_search_nodes, memory_open_nodes]
    - id: agent2-memory
      subjects: [agent_name2]
      servers: [memory]
      allow: ['memory_*']
    - id: agent2-echo
      subjects: [agent_name2]
      servers: [everything]
      allow: [everything_echo]
    - id: players-channels
      subjects: ['group:players']
      servers: [channels, bot-runner]
      allow: ['channels_*', 'bot-runner_*']
    - id: players-code
      subjects: ['group:players']
      servers: [code-runner]
      allow: ['code-runner_*']
${options.docker?.included === true ? dockerRunnerRule : ''}`;
}

/** The docker runner's server entry when the engine answered, else a comment saying why there is none. */
function dockerRunnerEntry(
  docker: DefaultDockerRunner | undefined,
  firstParty: (name: string, extra: string[]) => string,
): string {
  if (docker === undefined) return '';
  if (!docker.included)
    return `  # No docker runner: no Docker engine answered at ${docker.socket} (${docker.reason}) when this file was written.
  # Start dockerd, then delete this file to have it rewritten with one (see the docker-runner entry of mcpcp.example.yaml).`;
  return `  # The docker runner: agents run commands in hardened containers; images and limits in ${docker.runnerFile}.
${firstParty('docker-runner', ['--runner-config', docker.runnerFile])}`;
}

const dockerRunnerRule = `    - id: players-docker
      subjects: ['group:players']
      servers: [docker-runner]
      allow: ['docker-runner_*']
`;

export interface DefaultFleetFiles {
  readonly configFile: string;
  readonly keysDir: string;
  readonly tokensDir: string;
  /** What this call created (empty when everything already existed). */
  readonly created: readonly ('config' | 'keys')[];
  /** When the config was written now: whether it got a docker runner (a Docker engine answered), and if not why. */
  readonly docker?: DefaultDockerRunner | undefined;
}

/** Makes sure `<dataDir>/mcpcp.yaml` and `<dataDir>/keys` exist; never overwrites either. */
export async function ensureDefaultFleet(
  dataDir: string,
  options: { port?: number } = {},
): Promise<DefaultFleetFiles> {
  await ensurePrivateDir(dataDir);
  const configFile = join(resolve(dataDir), 'mcpcp.yaml');
  const keysDir = join(resolve(dataDir), 'keys');
  const created: ('config' | 'keys')[] = [];
  if (!(await exists(join(keysDir, 'jwks.json')))) {
    await generateKeyPair(keysDir);
    created.push('keys');
  }
  let docker: DefaultDockerRunner | undefined;
  if (!(await exists(configFile))) {
    docker = await ensureDefaultRunnerFile(dataDir);
    await writeFile(
      configFile,
      defaultConfigText({ nodePath: process.execPath, dataDir, docker, ...options }),
      {
        mode: 0o600,
      },
    );
    created.push('config');
  }
  return { configFile, keysDir, tokensDir: join(resolve(dataDir), 'tokens'), created, docker };
}
