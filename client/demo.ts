// The example client: for each demo agent, issue a token, connect to the proxy with the SDK client, list the
// agent's tools, call one allowed and one hidden tool, and compare everything it saw with the policy
// (isVisible/decide); then, when the fleet has a channels server both agents may use, the two meet in a GuessBot
// channel and verify its transcript (multiplayer.ts). Mismatches are returned, so `mcpcp demo` doubles as a smoke test.
// It must not print: it reports lines through `say` and returns a structured result.
import { Client, StreamableHTTPClientTransport, type Tool } from '@modelcontextprotocol/client';
import type { JSONWebKeySet } from 'jose';
import type { Signer } from '../auth/keys.ts';
import { compilePolicy, decide, isVisible, serversFor, type CompiledPolicy } from '../auth/policy.ts';
import { issueAgentToken } from '../auth/tokens.ts';
import type { McpcpConfig } from '../config/schema.ts';
import { runMultiplayer, type MultiplayerReport } from './multiplayer.ts';
import type { RunHook } from './verify/verify.ts';

export interface DemoOptions {
  readonly mcpUrl: string;
  readonly issuer: string;
  /** Token audience: the proxy's canonical resource URL. */
  readonly audience: string;
  readonly config: McpcpConfig;
  readonly signer: Signer;
  readonly agents: readonly string[];
  readonly say?: (line: string) => void;
  /** For the multiplayer part: the fleet's public keys and a bot hook runner (both needed to verify). */
  readonly verify?: { readonly jwks: () => Promise<JSONWebKeySet>; readonly runHook: RunHook } | undefined;
}

export interface CallReport {
  readonly tool: string;
  readonly outcome: 'ok' | 'tool-error' | 'refused' | 'skipped';
  readonly detail: string;
}

export interface AgentReport {
  readonly agent: string;
  readonly servers: readonly string[];
  readonly tools: readonly string[];
  readonly allowedCall: CallReport;
  readonly hiddenCall: CallReport;
}

export interface DemoResult {
  readonly agents: readonly AgentReport[];
  /** The two first agents' GuessBot game; absent when the fleet has no channels server both may use. */
  readonly multiplayer?: MultiplayerReport | undefined;
  /** Every way what the proxy showed disagrees with the policy; empty means the smoke test passed. */
  readonly mismatches: readonly string[];
}

/** Server id of a qualified name, by the longest matching `<namespace>_` prefix. */
export function serverOf(config: McpcpConfig, qualified: string): string | undefined {
  let best: { id: string; length: number } | undefined;
  for (const server of config.servers) {
    const prefix = server.namespace === '' ? '' : `${server.namespace}_`;
    if (qualified.startsWith(prefix) && (best === undefined || prefix.length > best.length)) {
      best = { id: server.id, length: prefix.length };
    }
  }
  return best?.id;
}

/** Minimal arguments that satisfy a tool's required properties. */
export function sampleArguments(tool: Tool, agent: string): Record<string, unknown> {
  const schema = tool.inputSchema as {
    properties?: Record<string, { type?: string; enum?: unknown[] }>;
    required?: string[];
  };
  const out: Record<string, unknown> = {};
  for (const name of schema.required ?? []) {
    const property = schema.properties?.[name] ?? {};
    if (property.enum && property.enum.length > 0) out[name] = property.enum[0];
    else if (property.type === 'number' || property.type === 'integer') out[name] = 1;
    else if (property.type === 'boolean') out[name] = true;
    else if (property.type === 'array') out[name] = [];
    else if (property.type === 'object') out[name] = {};
    else out[name] = `hello from ${agent}`;
  }
  return out;
}

const preferred = [/(^|_)echo$/, /read_graph$/, /get-sum$/, /(^|_)add$/];

function pickAllowed(tools: readonly Tool[]): Tool | undefined {
  for (const pattern of preferred) {
    const hit = tools.find((tool) => pattern.test(tool.name));
    if (hit) return hit;
  }
  return (
    tools.find((tool) => ((tool.inputSchema as { required?: string[] }).required ?? []).length === 0) ??
    tools[0]
  );
}

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content
    .filter((block) => block.type === 'text')
    .map((block) => block.text ?? '')
    .join(' ')
    .slice(0, 120);
}

async function connect(options: DemoOptions, agent: string): Promise<Client> {
  const token = await issueAgentToken(options.signer, {
    issuer: options.issuer,
    audience: options.audience,
    agent,
    ttlSeconds: 300,
  });
  const client = new Client({ name: 'mcpcp-demo', version: '0.1.0' });
  const transport = new StreamableHTTPClientTransport(new URL(options.mcpUrl), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const say = options.say ?? (() => undefined);
  const policy: CompiledPolicy = compilePolicy(options.config);
  const mismatches: string[] = [];
  const clients = new Map<string, Client>();
  const listed = new Map<string, Tool[]>();
  try {
    for (const agent of options.agents) {
      const client = await connect(options, agent);
      clients.set(agent, client);
      const { tools } = await client.listTools();
      listed.set(agent, tools);
      const servers = serversFor(policy, { agent });
      say(`🔐 Getting tools for agent: ${agent}`);
      say(`📋 Agent has access to servers: ${servers.length > 0 ? servers.join(', ') : '(none)'}`);
      say(`✅ Found ${tools.length} tools:`);
      for (const tool of tools) say(`   - ${tool.name}`);
      for (const tool of tools) {
        const server = serverOf(options.config, tool.name);
        if (
          server === undefined ||
          !isVisible(policy, { agent }, { kind: 'tool', server, name: tool.name })
        ) {
          mismatches.push(`${agent} sees ${tool.name}, which the policy hides`);
        }
      }
      say('');
    }

    // What the policy allows must be there too: every tool some agent was shown is known to exist, so an
    // agent the policy lets see it must see it; an agent given servers must see something.
    const known = new Map<string, string>();
    for (const tools of listed.values())
      for (const tool of tools) {
        const server = serverOf(options.config, tool.name);
        if (server !== undefined) known.set(tool.name, server);
      }
    for (const agent of options.agents) {
      const seen = new Set(listed.get(agent)!.map((tool) => tool.name));
      if (seen.size === 0 && serversFor(policy, { agent }).length > 0)
        mismatches.push(
          `${agent} sees no tools, though the policy gives it ${serversFor(policy, { agent }).join(', ')}`,
        );
      for (const [name, server] of known) {
        if (!seen.has(name) && isVisible(policy, { agent }, { kind: 'tool', server, name }))
          mismatches.push(`${agent} does not see ${name}, which the policy allows`);
      }
    }

    const reports: AgentReport[] = [];
    for (const agent of options.agents) {
      const client = clients.get(agent)!;
      const tools = listed.get(agent)!;
      const allowed = pickAllowed(tools);
      let allowedCall: CallReport = { tool: '-', outcome: 'skipped', detail: 'the agent sees no tools' };
      if (allowed) {
        try {
          const result = await client.callTool({
            name: allowed.name,
            arguments: sampleArguments(allowed, agent),
          });
          allowedCall = {
            tool: allowed.name,
            outcome: result.isError === true ? 'tool-error' : 'ok',
            detail: textOf(result),
          };
        } catch (error) {
          allowedCall = { tool: allowed.name, outcome: 'refused', detail: (error as Error).message };
          mismatches.push(
            `${agent} was refused ${allowed.name}, which it lists: ${(error as Error).message}`,
          );
        }
      }
      say(`▶ ${agent} calls ${allowedCall.tool} (allowed): ${allowedCall.outcome} — ${allowedCall.detail}`);

      const seen = new Set(tools.map((tool) => tool.name));
      const hidden = [...listed.entries()]
        .filter(([other]) => other !== agent)
        .flatMap(([, list]) => list)
        .find((tool) => {
          const server = serverOf(options.config, tool.name);
          return (
            !seen.has(tool.name) &&
            server !== undefined &&
            !isVisible(policy, { agent }, { kind: 'tool', server, name: tool.name })
          );
        });
      let hiddenCall: CallReport = {
        tool: '-',
        outcome: 'skipped',
        detail: 'no tool of another agent is hidden from this one',
      };
      if (hidden) {
        const server = serverOf(options.config, hidden.name)!;
        const verdict = decide(policy, { agent }, { kind: 'tool', server, name: hidden.name, arguments: {} });
        try {
          const result = await client.callTool({
            name: hidden.name,
            arguments: sampleArguments(hidden, agent),
          });
          if (result.isError === true) {
            hiddenCall = {
              tool: hidden.name,
              outcome: 'refused',
              detail: `${textOf(result)} (policy: ${verdict.rule})`,
            };
          } else {
            hiddenCall = { tool: hidden.name, outcome: 'ok', detail: textOf(result) };
            mismatches.push(
              `${agent} could call ${hidden.name}, which the policy hides (rule ${verdict.rule})`,
            );
          }
        } catch (error) {
          hiddenCall = {
            tool: hidden.name,
            outcome: 'refused',
            detail: `${(error as Error).message} (policy: ${verdict.rule})`,
          };
        }
      }
      say(`▶ ${agent} calls ${hiddenCall.tool} (hidden): ${hiddenCall.outcome} — ${hiddenCall.detail}`);
      reports.push({
        agent,
        servers: serversFor(policy, { agent }),
        tools: tools.map((tool) => tool.name),
        allowedCall,
        hiddenCall,
      });
    }
    if (
      channelsAllowed(options.config, options.agents) &&
      channelsPrefix(options.config, listed, options.agents) === undefined
    ) {
      mismatches.push(
        'the policy lets both agents play in channels, but the proxy does not list the channels tools (is the channels server ready? see mcpcp status)',
      );
    }
    const multiplayer = await playTogether(options, clients, listed, say);
    if (multiplayer !== undefined) mismatches.push(...multiplayer.problems);
    return { agents: reports, ...(multiplayer ? { multiplayer } : {}), mismatches };
  } finally {
    await Promise.all([...clients.values()].map((client) => client.close().catch(() => undefined)));
  }
}

const gameTools = ['create_channel', 'join_channel', 'post_message', 'sync_messages', 'get_receipt'];

/** The channels server's tool prefix, when both first agents can create and join channels; else undefined. */
function channelsPrefix(config: McpcpConfig, listed: Map<string, Tool[]>, agents: readonly string[]) {
  const server = config.servers.find((s) => s.id === 'channels');
  if (server === undefined || agents.length < 2) return undefined;
  const prefix = server.namespace === '' ? '' : `${server.namespace}_`;
  const can = (agent: string) =>
    gameTools.every((name) => (listed.get(agent) ?? []).some((tool) => tool.name === `${prefix}${name}`));
  return can(agents[0]!) && can(agents[1]!) ? prefix : undefined;
}

/** The policy lets the first two agents use every channels tool the game needs. */
function channelsAllowed(config: McpcpConfig, agents: readonly string[]): boolean {
  const server = config.servers.find((s) => s.id === 'channels');
  if (server === undefined || agents.length < 2) return false;
  const policy = compilePolicy(config);
  const prefix = server.namespace === '' ? '' : `${server.namespace}_`;
  return agents
    .slice(0, 2)
    .every((agent) =>
      gameTools.every((name) =>
        isVisible(policy, { agent }, { kind: 'tool', server: server.id, name: `${prefix}${name}` }),
      ),
    );
}

async function playTogether(
  options: DemoOptions,
  clients: Map<string, Client>,
  listed: Map<string, Tool[]>,
  say: (line: string) => void,
): Promise<MultiplayerReport | undefined> {
  const prefix = channelsPrefix(options.config, listed, options.agents);
  if (prefix === undefined || options.verify === undefined) {
    say('');
    say(
      '(no channels server both agents may use, so no multiplayer game; the embedded default fleet has one: ' +
        'a data folder from an older mcpcp keeps its old mcpcp.yaml, delete it to get the new default)',
    );
    return undefined;
  }
  const [first, second] = options.agents as [string, string];
  say('');
  return runMultiplayer({
    players: [
      { agent: first, client: clients.get(first)! },
      { agent: second, client: clients.get(second)! },
    ],
    toolPrefix: prefix,
    jwks: await options.verify.jwks(),
    runHook: options.verify.runHook,
    say,
  });
}
