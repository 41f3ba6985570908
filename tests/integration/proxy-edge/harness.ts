// Test harness for the proxy edge: a real proxy on port 0 with keys generated per run, a config parsed from
// YAML text written to a temp folder, and a real stdio child (the reference "everything" server).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { generateKeyPair, loadSigner, type Signer } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { parseConfig } from '../../../config/load.ts';
import type { Logger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy, type StartProxyOptions } from '../../../proxy/start.ts';

export const everythingPath = path.resolve(
  'node_modules/@modelcontextprotocol/server-everything/dist/index.js',
);

export function configYaml(
  options: { allow?: string[]; rateLimit?: string; maxBodyBytes?: number } = {},
): string {
  const allow = options.allow ?? ['everything_echo', 'everything_get-sum'];
  return `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  publicUrl: http://127.0.0.1:0
  keysDir: ./keys
  allowedOrigins: [https://claude.ai]
  limits: { maxBodyBytes: ${options.maxBodyBytes ?? 65536}, callTimeoutMs: 10000 }
servers:
  - id: everything
    transport: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(everythingPath)}, stdio]
agents:
  alice: {}
  bob: {}
policy:
  rules:
    - id: alice-everything
      subjects: [alice]
      servers: [everything]
      allow: ${JSON.stringify(allow)}
${options.rateLimit === undefined ? '' : `      rateLimit: ${options.rateLimit}\n`}    - id: bob-echo
      subjects: [bob]
      servers: [everything]
      allow: [everything_echo]
      rateLimit: { requestsPerMinute: 1, burst: 5 }
`;
}

/** Collects log lines in memory (JSON objects), for audit assertions. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export interface Harness {
  dir: string;
  configFile: string;
  proxy: RunningProxy;
  signer: Signer;
  logs: string[];
  token(agent: string, options?: { ttlSeconds?: number; now?: Date; audience?: string }): Promise<string>;
  writeConfig(text: string): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  yaml: string = configYaml(),
  extra: Partial<StartProxyOptions> = {},
): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mcpcp-edge-'));
  const keysDir = path.join(dir, 'keys');
  await generateKeyPair(keysDir);
  const signer = await loadSigner(keysDir);
  const configFile = path.join(dir, 'mcpcp.yaml');
  await writeFile(configFile, yaml);
  const config = parseConfig(yaml, configFile);
  const { logger, lines } = memoryLogger();
  let proxy: RunningProxy;
  try {
    proxy = await startProxy({ config, configFile, logger, reloadDebounceMs: 50, ...extra });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    configFile,
    proxy,
    signer,
    logs: lines,
    token: (agent, options = {}) =>
      issueAgentToken(signer, {
        issuer: proxy.urls.issuer,
        audience: options.audience ?? proxy.urls.resource,
        agent,
        ttlSeconds: options.ttlSeconds ?? 300,
        now: options.now,
      }),
    writeConfig: (text) => writeFile(configFile, text),
    async close() {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const mcpHeaders = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

export const initializeBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'edge-test', version: '1.0.0' },
  },
});
