// `mcpcp demo`: runs the example client (client/demo.ts) against a running fleet: two agents, two tokens, two
// views, then a GuessBot game between them in a channel, verified. Exits 1 when what the proxy shows disagrees with
// the policy or any multiplayer step fails, so it doubles as a smoke test.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadSigner } from '../../auth/keys.ts';
import { loadJwksFrom } from '../../client/verify/fetch.ts';
import { loadConfig } from '../../config/load.ts';
import { readRuntimeEnv } from '../../lib/env.ts';
import { McpcpError } from '../../lib/errors.ts';
import type { Register } from '../cli.ts';
import { adminRequest } from '../fleet/admin-socket.ts';
import type { FleetStatus } from '../fleet/fleet.ts';

interface DemoFlags {
  dataDir?: string;
  url?: string;
  config?: string;
  agents?: string;
  json?: boolean;
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  return undefined;
}

/** Where to connect and which config to judge by: the running fleet, unless --url points elsewhere. */
async function resolveTarget(flags: DemoFlags, dataDir: string) {
  if (flags.url === undefined) {
    const status = (await adminRequest(dataDir, 'GET', '/status')) as FleetStatus;
    const configFile = flags.config ?? status.configFile;
    if (configFile === undefined)
      throw new McpcpError('ERR_CONFIG_NOT_FOUND', 'the fleet reports no config file; pass --config');
    return {
      mcpUrl: status.proxy.mcpUrl,
      audience: status.proxy.resource,
      issuer: status.proxy.issuer,
      configFile,
    };
  }
  const configFile = flags.config ?? (await firstExisting(['mcpcp.yaml', join(dataDir, 'mcpcp.yaml')]));
  if (configFile === undefined) {
    throw new McpcpError(
      'ERR_CONFIG_NOT_FOUND',
      `no config to judge the proxy by: pass --config (looked in . and ${dataDir})`,
    );
  }
  const config = await loadConfig(configFile);
  const discovered = await discoverResource(flags.url);
  return {
    mcpUrl: flags.url,
    audience: discovered?.resource ?? flags.url,
    issuer: discovered?.issuer ?? config.proxy.issuer,
    configFile,
  };
}

/** The proxy's own word on its token audience and issuer: RFC 9728 protected-resource metadata. */
async function discoverResource(mcpUrl: string): Promise<{ resource: string; issuer?: string } | undefined> {
  const url = new URL(mcpUrl);
  try {
    const response = await fetch(
      new URL(`/.well-known/oauth-protected-resource${url.pathname}`, url.origin),
      {
        signal: AbortSignal.timeout(5_000),
      },
    );
    if (!response.ok) return undefined;
    const body = (await response.json()) as { resource?: unknown; authorization_servers?: unknown };
    if (typeof body.resource !== 'string') return undefined;
    const issuer: unknown = Array.isArray(body.authorization_servers)
      ? body.authorization_servers[0]
      : undefined;
    return { resource: body.resource, ...(typeof issuer === 'string' ? { issuer } : {}) };
  } catch {
    return undefined;
  }
}

export const registerDemo: Register = (program: Command) => {
  program
    .command('demo')
    .description(
      'show each demo agent its own tools through the proxy; exit 1 if that disagrees with the policy',
    )
    .option('--data-dir <dir>', 'data folder of the running fleet (default: .mcpcp)')
    .option('--url <url>', 'proxy MCP URL (default: asked from the running fleet); also the token audience')
    .option('--config <file>', 'config whose policy and keys to use (default: the fleet’s)')
    .option('--agents <a,b>', 'agents to show (default: the first two agents in the config)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: DemoFlags) => {
      const dataDir = flags.dataDir ?? readRuntimeEnv().home;
      const target = await resolveTarget(flags, dataDir);
      const config = await loadConfig(target.configFile);
      const agents = flags.agents?.split(',').filter(Boolean) ?? Object.keys(config.agents).slice(0, 2);
      if (agents.length === 0) {
        throw new McpcpError(
          'ERR_INVALID_ARGUMENT',
          `${target.configFile} lists no agents; pass --agents a,b`,
        );
      }
      const signer = await loadSigner(config.proxy.keysDir);
      // The demo client and the bot sandbox load only when the demo runs.
      const [{ runDemo }, { runBotHook }] = await Promise.all([
        import('../../client/demo.ts'),
        import('../../servers/sandbox/bot-host.ts'),
      ]);
      const result = await runDemo({
        ...target,
        config,
        signer,
        agents,
        // The keys the proxy publishes, as any participant would fetch them.
        verify: {
          jwks: () => loadJwksFrom(new URL('/.well-known/jwks.json', target.mcpUrl).href),
          runHook: runBotHook,
        },
        ...(flags.json ? {} : { say: (line: string) => process.stdout.write(`${line}\n`) }),
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      if (result.mismatches.length > 0) {
        throw new McpcpError(
          'ERR_DEMO_MISMATCH',
          `what the proxy shows disagrees with the policy or the game:\n  ${result.mismatches.join('\n  ')}`,
        );
      }
      if (!flags.json) {
        const played = result.multiplayer ? ', and their game verifies' : '';
        process.stdout.write(`\n✔ every agent saw exactly what the policy allows${played}\n`);
      }
    });
};
