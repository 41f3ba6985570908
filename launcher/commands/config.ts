// `mcpcp config check [FILE]`: validates a config and prints its servers and who may use what, then what
// looks like a mistake (config-warnings.ts). Exit 0 when valid, warnings or not; an invalid or missing
// config exits 2 with file:line:col errors (runCli's mapping).
import { canonicalResource } from '../../config/schema.ts';
import type { McpcpConfig } from '../../config/schema.ts';
import { summariseAccess } from '../../auth/access-summary.ts';
import type { AgentAccess } from '../../auth/access-summary.ts';
import { configWarnings, type ConfigWarning } from '../config-warnings.ts';
import type { Register } from '../cli.ts';
import { loadCliConfig } from '../config-file.ts';

export const registerConfig: Register = (program) => {
  const config = program.command('config').description('work with mcpcp.yaml');

  config
    .command('check')
    .description('validate a config file and summarise servers and per-agent access')
    .argument(
      '[file]',
      'config file (default: ./mcpcp.yaml, else the fleet running in the data folder, else DATA_DIR/mcpcp.yaml)',
    )
    .option('--data-dir <dir>', 'data folder of the fleet (default: .mcpcp)')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string | undefined, flags: { json?: boolean; dataDir?: string }) => {
      const loaded = await loadCliConfig(file, flags.dataDir);
      const access = summariseAccess(loaded.config);
      const warnings = configWarnings(loaded.config);
      const out = flags.json
        ? `${JSON.stringify({ ...toJson(loaded.file, loaded.config, access), warnings }, null, 2)}\n`
        : renderText(loaded.file, loaded.config, access);
      process.stdout.write(out);
      if (!flags.json) process.stderr.write(renderWarnings(loaded.file, warnings));
    });
};

function toJson(file: string, config: McpcpConfig, access: readonly AgentAccess[]) {
  return {
    file,
    valid: true,
    proxy: {
      listen: config.proxy.listen,
      publicUrl: config.proxy.publicUrl,
      resource: canonicalResource(config),
      issuer: config.proxy.issuer,
    },
    servers: config.servers.map((s) => ({
      id: s.id,
      transport: s.transport,
      namespace: s.namespace,
      ...(s.transport === 'http' ? { url: s.url } : { command: s.command }),
    })),
    agents: access,
  };
}

function renderText(file: string, config: McpcpConfig, access: readonly AgentAccess[]): string {
  const lines: string[] = [`${file}: valid`];
  const { listen } = config.proxy;
  lines.push(
    `proxy: ${canonicalResource(config)} (listen ${listen.host}:${listen.port}, issuer ${config.proxy.issuer})`,
  );
  lines.push(`servers (${config.servers.length}):`);
  const idWidth = Math.max(0, ...config.servers.map((s) => s.id.length));
  for (const s of config.servers) {
    const where = s.transport === 'http' ? s.url : [s.command, ...s.args].join(' ');
    const ns = s.namespace === '' ? '(no prefix)' : s.namespace;
    lines.push(`  ${s.id.padEnd(idWidth)}  ${s.transport.padEnd(5)}  namespace ${ns}  ${where}`);
  }
  lines.push('agents:');
  for (const a of access) {
    const head = a.agent === '*' ? '* (any other agent)' : a.agent;
    const extras = [
      a.groups.length > 0 ? `groups: ${a.groups.join(', ')}` : '',
      a.rateLimit ? `rate limit ${a.rateLimit.requestsPerMinute}/min, burst ${a.rateLimit.burst}` : '',
    ].filter(Boolean);
    lines.push(`  ${head}${extras.length > 0 ? `  (${extras.join('; ')})` : ''}`);
    if (a.rules.length === 0) lines.push('    no access (default deny)');
    for (const r of a.rules) {
      const parts = [
        r.allow.length > 0 ? `allow ${r.allow.join(', ')}` : 'allow nothing',
        r.deny.length > 0 ? `deny ${r.deny.join(', ')}` : '',
        r.arguments.length > 0 ? `constrains ${r.arguments.join(', ')}` : '',
      ].filter(Boolean);
      lines.push(`    ${r.server} [${r.rule}]: ${parts.join('; ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function renderWarnings(file: string, warnings: readonly ConfigWarning[]): string {
  return warnings.map((w) => `${file}: ${w.path}: warning: ${w.message}\n`).join('');
}
