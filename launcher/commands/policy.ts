// `mcpcp policy explain`: what the policy decides for one agent and one name, and which rule decided.
// Exit 0 whenever an explanation was produced (allowed or denied; the decision is in the output), unless
// --exit-code is given, then 1 when denied. Bad flags or an invalid config exit 2.
import type { Command } from 'commander';
import { compilePolicy } from '../../auth/policy.ts';
import type { Decision, PolicyKind } from '../../auth/policy.ts';
import { explainPolicy, policyKinds, type Explanation } from '../../auth/policy-explain.ts';
import { isMcpcpError } from '../../lib/errors.ts';
import type { Register } from '../cli.ts';
import { loadCliConfig } from '../config-file.ts';

interface ExplainFlags {
  agent: string;
  tool: string;
  kind: string;
  server?: string;
  args?: string;
  group: string[];
  config?: string;
  dataDir?: string;
  json?: boolean;
  exitCode?: boolean;
}

const kinds = policyKinds;

/** A value given as a positional argument or as its flag: one of the two, and required. */
function either(command: Command, flag: 'agent' | 'tool', positional?: string, option?: string): string {
  if (positional !== undefined && option !== undefined && positional !== option)
    command.error(
      `error: the ${flag} is given twice ("${positional}" and --${flag} "${option}"); give it once`,
    );
  const value = positional ?? option;
  if (value === undefined)
    command.error(
      `error: say which ${flag === 'agent' ? 'agent' : 'name'}: mcpcp policy explain AGENT NAME (or --agent and --tool)`,
    );
  return value;
}
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerPolicy: Register = (program) => {
  const policy = program.command('policy').description('inspect policy decisions');

  policy
    .command('explain')
    .description('say whether an agent may use a tool (prompt, resource) and which rule decided')
    .argument('[agent]', 'agent name (token subject); or --agent')
    .argument('[name]', 'qualified name (<namespace>_<tool>), or a URI with --kind resource; or --tool')
    .option('--agent <name>', 'agent name (token subject)')
    .option('--tool <name>', 'qualified name (<namespace>_<tool>), or a URI with --kind resource')
    .option('--kind <kind>', 'tool, prompt or resource', 'tool')
    .option(
      '--server <id>',
      'server id (default: the server whose namespace prefixes the name, longest first)',
    )
    .option('--args <json>', 'call arguments as a JSON object; checks argument constraints too')
    .option('--group <name>', 'extra group of the agent, as a token claim would add; repeatable', collect, [])
    .option(
      '--config <file>',
      'config file (default: ./mcpcp.yaml, else the fleet running in the data folder, else DATA_DIR/mcpcp.yaml)',
    )
    .option('--data-dir <dir>', 'data folder of the fleet (default: .mcpcp)')
    .option('--json', 'print the decision as JSON')
    .option('--exit-code', 'exit 1 when the decision is deny')
    .action(
      async (
        agentArg: string | undefined,
        nameArg: string | undefined,
        given: Partial<ExplainFlags>,
        command: Command,
      ) => {
        const flags = {
          ...given,
          agent: either(command, 'agent', agentArg, given.agent),
          tool: either(command, 'tool', nameArg, given.tool),
        } as ExplainFlags;
        if (!kinds.includes(flags.kind as PolicyKind))
          command.error(`error: --kind must be one of ${kinds.join(', ')}`);
        const kind = flags.kind as PolicyKind;
        const args = flags.args === undefined ? undefined : parseArgs(flags.args, command);
        const { config } = await loadCliConfig(flags.config, flags.dataDir);
        let explained: Explanation;
        try {
          explained = explainPolicy(config, compilePolicy(config), {
            agent: flags.agent,
            name: flags.tool,
            kind,
            server: flags.server,
            arguments: args,
            groups: flags.group,
          });
        } catch (error) {
          // The shared message says "name the server"; here that is a flag.
          if (isMcpcpError(error, 'ERR_INVALID_ARGUMENT'))
            command.error(`error: ${error.message.replace('name the server', 'pass --server')}`);
          throw error;
        }
        const { groups, server, decision, constraints, argumentsChecked } = explained;

        if (flags.json) {
          const out = {
            agent: flags.agent,
            groups,
            kind,
            server,
            name: flags.tool,
            arguments: args,
            argumentsChecked,
            constraints,
            decision,
          };
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        } else {
          process.stdout.write(
            renderText(flags, groups, kind, server, decision, constraints, argumentsChecked),
          );
        }
        if (flags.exitCode && !decision.allowed) process.exitCode = 1;
      },
    );
};

function parseArgs(text: string, command: Command): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    command.error(`error: --args is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    command.error('error: --args must be a JSON object');
  return value as Record<string, unknown>;
}

function renderText(
  flags: ExplainFlags,
  groups: readonly string[],
  kind: PolicyKind,
  server: string,
  decision: Decision,
  constraints: Record<string, unknown>,
  argumentsChecked: boolean,
): string {
  const lines = [
    `${decision.allowed ? 'ALLOWED' : 'DENIED'}: ${kind} ${flags.tool} on server ${server} for agent ${flags.agent}` +
      (groups.length > 0 ? ` (groups: ${groups.join(', ')})` : ''),
    // A rule that allows the name but whose argument constraint fails is not a deny rule.
    `rule:   ${decision.rule} (${!decision.allowed && decision.code === 'ERR_POLICY_ARGUMENTS' ? 'allow, but an argument constraint fails' : decision.effect})`,
    `reason: ${decision.reason}`,
  ];
  if (Object.keys(constraints).length > 0) {
    lines.push(
      `arguments: ${Object.entries(constraints)
        .map(([arg, c]) => `${arg} ${JSON.stringify(c)}`)
        .join('; ')}`,
    );
    if (!argumentsChecked && decision.allowed)
      lines.push('note:   arguments not checked; pass --args to check a call');
  }
  return `${lines.join('\n')}\n`;
}
