// Agents and policy: every agent the config names, each one's exact view (tools, prompts, resources) as the
// gateway itself answers that agent (as-agent.ts: the agent's own lists, not a recomputation), and the "why?" form,
// which runs `policy explain` (auth/policy-explain.ts, the CLI's own function) for an agent, a name and arguments.
import type { Hono } from 'hono';
import { explainPolicy, type Explanation } from '../../auth/policy-explain.ts';
import type { PolicyKind } from '../../auth/policy.ts';
import type { McpcpConfig } from '../../config/schema.ts';
import { isMcpcpError } from '../../lib/errors.ts';
import { agentView, consolePrincipal } from './as-agent.ts';
import { h, page, type Html } from './layout.ts';
import { requireSession, type ConsoleEnv } from './security.ts';
import type { ConsoleOptions } from './types.ts';

/** Every agent the config names: declared agents, group members and rule subjects (not `*` or groups). */
export function knownAgents(config: McpcpConfig): string[] {
  const names = new Set<string>(Object.keys(config.agents));
  for (const members of Object.values(config.groups)) for (const name of members) names.add(name);
  for (const rule of config.policy.rules)
    for (const subject of rule.subjects)
      if (subject !== '*' && !subject.startsWith('group:')) names.add(subject);
  return [...names].sort();
}

function whyForm(agents: readonly string[], query: Record<string, string | undefined>): Html {
  const kind = query.kind ?? 'tool';
  return h`<form method="get" action="/console/agents/why" class="card" aria-labelledby="why-title">
<h2 id="why-title">Why? (policy explain)</h2>
<label for="why-agent">Agent</label>
<select id="why-agent" name="agent">${agents.map((a) => h`<option${a === query.agent ? h` selected` : ''}>${a}</option>`)}</select>
<label for="why-name">Name (qualified tool or prompt name, or resource URI)</label>
<input id="why-name" name="name" type="text" required value="${query.name ?? ''}" autocomplete="off" spellcheck="false">
<label for="why-kind">Kind</label>
<select id="why-kind" name="kind">${['tool', 'prompt', 'resource'].map((k) => h`<option${k === kind ? h` selected` : ''}>${k}</option>`)}</select>
<label for="why-server">Server (optional for tools and prompts)</label>
<input id="why-server" name="server" type="text" value="${query.server ?? ''}" autocomplete="off">
<label for="why-args">Arguments (JSON object, optional)</label>
<textarea id="why-args" name="args" rows="2" spellcheck="false">${query.args ?? ''}</textarea>
<p><button type="submit">Explain</button></p>
</form>`;
}

function explanation(e: Explanation): Html {
  const d = e.decision;
  return h`<section class="card" aria-live="polite" id="why-result">
<h2>${d.allowed ? h`<span class="ok">ALLOWED</span>` : h`<span class="error">DENIED</span>`}: ${e.kind} <code>${e.name}</code> for <strong>${e.agent}</strong></h2>
<dl>
<dt>Deciding rule</dt><dd><code id="why-rule">${d.rule}</code> (${!d.allowed && d.code === 'ERR_POLICY_ARGUMENTS' ? 'allow, but an argument constraint fails' : d.effect})</dd>
<dt>Reason</dt><dd>${d.reason}</dd>
<dt>Server</dt><dd>${e.server}</dd>
<dt>Groups</dt><dd>${e.groups.length > 0 ? e.groups.join(', ') : 'none'}</dd>
${Object.keys(e.constraints).length > 0 ? h`<dt>Argument constraints</dt><dd><pre>${JSON.stringify(e.constraints, null, 2)}</pre>${e.argumentsChecked ? '' : h`<span class="muted">not checked: give arguments to check a call</span>`}</dd>` : ''}
</dl></section>`;
}

export function mountAgentsPage(app: Hono<ConsoleEnv>, options: ConsoleOptions): void {
  const operator = requireSession(['operator']);
  app.get('/console/agents', operator, (c) => {
    const session = c.get('session')!;
    const agents = knownAgents(options.config());
    const status = options.reloadStatus();
    return c.html(
      page({
        title: 'Agents and policy',
        session,
        active: 'agents',
        body: h`<p>Policy: ${status.rules} rules in force${
          status.at === undefined
            ? ' (as loaded at start)'
            : status.ok
              ? h`; last reload <span class="ok">applied</span> at ${new Date(status.at).toISOString()}`
              : h`; last reload <span class="error">rejected</span> at ${new Date(status.at).toISOString()}: ${status.error ?? ''} (the previous policy stays)`
        }. <a href="/console/config">The config file</a>.</p>
<h2>Agents</h2>
<ul>${agents.map((a) => h`<li><a href="/console/agents/${encodeURIComponent(a)}">${a}</a> <span class="muted">${options.config().agents[a]?.description ?? ''}</span></li>`)}</ul>
${whyForm(agents, {})}`,
      }),
    );
  });

  app.get('/console/agents/why', operator, (c) => {
    const session = c.get('session')!;
    const config = options.config();
    const query = c.req.query();
    let result: Html;
    try {
      let args: Record<string, unknown> | undefined;
      if (query.args !== undefined && query.args.trim() !== '') {
        const parsed = JSON.parse(query.args) as unknown;
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
          throw new SyntaxError('arguments must be a JSON object');
        args = parsed as Record<string, unknown>;
      }
      result = explanation(
        explainPolicy(config, options.policy(), {
          agent: query.agent ?? '',
          name: query.name ?? '',
          kind: (query.kind ?? 'tool') as PolicyKind,
          server: query.server === undefined || query.server === '' ? undefined : query.server,
          arguments: args,
        }),
      );
    } catch (error) {
      if (!(error instanceof SyntaxError) && !isMcpcpError(error, 'ERR_INVALID_ARGUMENT')) throw error;
      result = h`<p class="flash error" role="alert">${error.message}</p>`;
    }
    return c.html(
      page({
        title: 'Why?',
        session,
        active: 'agents',
        body: h`${result}${whyForm(knownAgents(config), query)}`,
      }),
    );
  });

  app.get('/console/agents/:agent', operator, async (c) => {
    const session = c.get('session')!;
    const agent = c.req.param('agent');
    if (!knownAgents(options.config()).includes(agent))
      return c.html(
        page({
          title: 'Unknown agent',
          session,
          active: 'agents',
          body: h`<p>No agent ${agent} in the config.</p>`,
        }),
        404,
      );
    const view = await agentView(options.gateway, consolePrincipal(agent));
    const list = <T>(
      items: readonly T[],
      name: (item: T) => string,
      detail: (item: T) => string | undefined,
    ) =>
      items.length === 0
        ? h`<p class="muted">none</p>`
        : h`<ul>${items.map((item) => h`<li><code>${name(item)}</code> <span class="muted">${detail(item) ?? ''}</span></li>`)}</ul>`;
    return c.html(
      page({
        title: `Agent ${agent}`,
        session,
        active: 'agents',
        body: h`<p>Exactly what the gateway answers ${agent} right now (its own <code>tools/list</code>, <code>prompts/list</code>, <code>resources/list</code>).</p>
<h2>Tools (<span id="tool-count">${view.tools.length}</span>)</h2>
<div id="agent-tools">${list(
          view.tools,
          (t) => t.name,
          (t) => t.description,
        )}</div>
<h2>Prompts (${view.prompts.length})</h2>${list(
          view.prompts,
          (p) => p.name,
          (p) => p.description,
        )}
<h2>Resources (${view.resources.length + view.templates.length})</h2>${list(
          view.resources,
          (r) => r.uri,
          (r) => r.name,
        )}${
          view.templates.length > 0
            ? list(
                view.templates,
                (t) => t.uriTemplate,
                (t) => t.name,
              )
            : ''
        }
${whyForm(knownAgents(options.config()), { agent })}`,
      }),
    );
  });
}
