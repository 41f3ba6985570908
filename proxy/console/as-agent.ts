// Acting as an agent from inside the proxy: an MCP client (the SDK's) whose requests go straight to the gateway's
// handleMcp with that agent's principal, no network, no token. So the console shows what the agent itself gets
// (its own view, policy and pins applied by the gateway, not recomputed here) and reads channels exactly as the
// member would. Each use is one short 2026-07-28 (sessionless) client. It must not bypass the gateway.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Gateway, Principal } from '../gateway/index.ts';

/** A principal for an agent the operator inspects; marked so logs can tell it from the agent's own calls. */
export function consolePrincipal(agent: string, now = Date.now()): Principal {
  return Object.freeze({
    agent,
    scopes: [],
    claims: Object.freeze({ sub: agent, mcpcp_via: 'console' }),
    expiresAt: Math.floor(now / 1000) + 300,
  });
}

export async function withAgentClient<T>(
  gateway: Pick<Gateway, 'handleMcp'>,
  principal: Principal,
  run: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client(
    { name: 'mcpcp-console', version: '0.1.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  const transport = new StreamableHTTPClientTransport(new URL('http://console.invalid/mcp'), {
    fetch: (url, init) => gateway.handleMcp(new Request(url, init), principal),
  });
  await client.connect(transport);
  try {
    return await run(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** The agent's whole view, every page of every list. */
export async function agentView(gateway: Pick<Gateway, 'handleMcp'>, principal: Principal) {
  return withAgentClient(gateway, principal, async (client) => {
    const caps = client.getServerCapabilities() ?? {};
    const all = async <I>(
      list: (cursor?: string) => Promise<{ items: I[]; nextCursor?: string | undefined }>,
    ) => {
      const items: I[] = [];
      let cursor: string | undefined;
      do {
        const page = await list(cursor);
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return items;
    };
    const params = (cursor?: string) => (cursor === undefined ? undefined : { cursor });
    const [tools, prompts, resources, templates] = await Promise.all([
      caps.tools
        ? all((c) => client.listTools(params(c)).then((r) => ({ items: r.tools, nextCursor: r.nextCursor })))
        : [],
      caps.prompts
        ? all((c) =>
            client.listPrompts(params(c)).then((r) => ({ items: r.prompts, nextCursor: r.nextCursor })),
          )
        : [],
      caps.resources
        ? all((c) =>
            client.listResources(params(c)).then((r) => ({ items: r.resources, nextCursor: r.nextCursor })),
          )
        : [],
      caps.resources
        ? all((c) =>
            client
              .listResourceTemplates(params(c))
              .then((r) => ({ items: r.resourceTemplates, nextCursor: r.nextCursor })),
          )
        : [],
    ]);
    return { tools, prompts, resources, templates };
  });
}
