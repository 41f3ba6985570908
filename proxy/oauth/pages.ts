// The authorization server's pages: sign-in, consent and error. Server-rendered HTML with one inline style
// sheet (allowed by its hash in the Content-Security-Policy), no scripts, no external assets; plain forms, so
// they work without JavaScript. Every value is escaped. It must not decide anything: callers pass what to show.
import { createHash } from 'node:crypto';
import type { AgentAccess } from '../../auth/access-summary.ts';

const css = `body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#111}
h1{font-size:1.4rem}.box{border:1px solid #ccc;border-radius:6px;padding:.75rem 1rem;margin:.75rem 0}
.warn{color:#8a4b00}.err{color:#a00}code{background:#f3f3f3;padding:0 .2rem}label{display:block;margin:.4rem 0}
input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}
button{padding:.5rem 1.2rem;margin-right:.5rem}ul{margin:.2rem 0;padding-left:1.2rem}.muted{color:#555}`;

export const pageCsp = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(css).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'`;

/** Headers every page carries: no framing, no caching, no referrer (the URL holds the interaction id). */
export const pageHeaders: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': pageCsp,
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${css}</style></head><body>${body}</body></html>`;
}

/** Who is asking, as the consent and sign-in pages show it. */
export interface ClientView {
  name: string;
  clientId: string;
  /** The host the browser goes back to after consent. */
  redirectHost: string;
  /** 'metadata-document': the client_id is an https URL the server fetched; 'registered': DCR (self-asserted). */
  kind: 'metadata-document' | 'registered';
}

function clientBox(client: ClientView): string {
  const identity =
    client.kind === 'metadata-document'
      ? `Identified by its metadata document at <code>${escapeHtml(new URL(client.clientId).host)}</code>.`
      : `<span class="warn">Registered itself with this server; its name is not verified.</span>`;
  return `<div class="box"><strong>${escapeHtml(client.name)}</strong><br><span class="muted">${identity}</span><br>After you answer, your browser goes back to <strong>${escapeHtml(client.redirectHost)}</strong>.</div>`;
}

export function renderLoginPage(options: {
  client: ClientView;
  action: string;
  csrf: string;
  user?: string | undefined;
  error?: string | undefined;
}): string {
  const error = options.error === undefined ? '' : `<p class="err">${escapeHtml(options.error)}</p>`;
  return page(
    'Sign in to MCPCP',
    `<h1>Sign in to MCPCP</h1><p>${escapeHtml(options.client.name)} asks to connect to this MCP server.</p>${clientBox(options.client)}${error}
<form method="post" action="${escapeHtml(options.action)}"><input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">
<label>User name <input type="text" name="user" autocomplete="username" required value="${escapeHtml(options.user ?? '')}"></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>`,
  );
}

function accessList(access: AgentAccess | undefined): string {
  if (access === undefined || access.rules.length === 0)
    return '<p class="warn">No rule allows this agent anything yet.</p>';
  const items = access.rules.map((r) => {
    const allow =
      r.allow.length === 0 ? 'nothing' : r.allow.map((g) => `<code>${escapeHtml(g)}</code>`).join(', ');
    const deny =
      r.deny.length === 0 ? '' : `; never ${r.deny.map((g) => `<code>${escapeHtml(g)}</code>`).join(', ')}`;
    const args =
      r.arguments.length === 0
        ? ''
        : `; with constrained arguments: ${r.arguments.map((a) => `<code>${escapeHtml(a)}</code>`).join(', ')}`;
    return `<li>server <strong>${escapeHtml(r.server)}</strong>: ${allow}${deny}${args} <span class="muted">(rule ${escapeHtml(r.rule)})</span></li>`;
  });
  const limit =
    access.rateLimit === undefined
      ? ''
      : `<li>at most ${access.rateLimit.requestsPerMinute} requests a minute</li>`;
  return `<ul>${items.join('')}${limit}</ul>`;
}

export function renderConsentPage(options: {
  client: ClientView;
  user: string;
  agents: readonly { name: string; access: AgentAccess | undefined }[];
  scopes: readonly { name: string; description: string }[];
  action: string;
  csrf: string;
}): string {
  const agents = options.agents
    .map(
      (agent, index) =>
        `<div class="box"><label><input type="radio" name="agent" value="${escapeHtml(agent.name)}"${index === 0 ? ' checked' : ''} required> Act as agent <strong>${escapeHtml(agent.name)}</strong>, which may use:</label>${accessList(agent.access)}</div>`,
    )
    .join('');
  const scopes =
    options.scopes.length === 0
      ? '<p class="muted">No scope requested: the client can list what the agent may use, and must ask again before calling anything.</p>'
      : `<ul>${options.scopes.map((s) => `<li><code>${escapeHtml(s.name)}</code>: ${escapeHtml(s.description)}</li>`).join('')}</ul>`;
  return page(
    'Allow access?',
    `<h1>Allow ${escapeHtml(options.client.name)} to use MCPCP?</h1><p>Signed in as <strong>${escapeHtml(options.user)}</strong>.</p>${clientBox(options.client)}
<form method="post" action="${escapeHtml(options.action)}"><input type="hidden" name="csrf" value="${escapeHtml(options.csrf)}">${agents}
<p>Permissions asked for:</p>${scopes}
<button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny">Deny</button></form>`,
  );
}

export function renderErrorPage(error: string, description: string): string {
  return page(
    'Authorization error',
    `<h1>Authorization error</h1><p><code>${escapeHtml(error)}</code></p><p>${escapeHtml(description)}</p>`,
  );
}
