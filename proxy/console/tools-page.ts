// Tool definitions: every tool of every child with the hash of its definition, whether it still matches what was
// pinned when first seen or approved, the history of each, and for a changed one the difference and an approve
// button (POST with the CSRF token and the hash the operator reviewed, so a child that changes again meanwhile is
// not approved unseen).
import type { Hono } from 'hono';
import { isMcpcpError } from '../../lib/errors.ts';
import type { ToolPins } from '../tool-pins/pins.ts';
import { flash, h, page, short, time } from './layout.ts';
import { requireSession, type ConsoleEnv } from './security.ts';

export function mountToolsPage(app: Hono<ConsoleEnv>, pins: ToolPins | undefined): void {
  const operator = requireSession(['operator']);
  app.get('/console/tools', operator, (c) => {
    const session = c.get('session')!;
    if (pins === undefined || pins.mode === 'off')
      return c.html(
        page({
          title: 'Tool definitions',
          session,
          active: 'tools',
          body: h`<p>Tool-definition pinning is off (<code>proxy.toolPins: off</code>).</p>`,
        }),
      );
    const states = pins.list();
    const changed = states.filter((s) => s.status === 'changed');
    return c.html(
      page({
        title: 'Tool definitions',
        session,
        active: 'tools',
        body: h`${flash(c.req.query('done'))}${flash(c.req.query('failed'), 'error')}
<p>Mode <strong>${pins.mode}</strong>: a tool whose definition changed since it was first seen or approved is ${pins.mode === 'hide' ? 'hidden from every agent' : 'still shown, but flagged'} until approved here or with <code>mcpcp tools approve SERVER TOOL</code>.</p>
<p id="changed-count">${changed.length === 0 ? h`<span class="ok">No changed definitions.</span>` : h`<span class="error">${changed.length} changed definition(s) wait for approval.</span>`}</p>
<div class="scroll"><table><thead><tr><th scope="col">server</th><th scope="col">tool</th><th scope="col">status</th><th scope="col">approved hash</th><th scope="col">offered hash</th><th scope="col">approved</th></tr></thead><tbody>
${states.map(
  (s) =>
    h`<tr id="pin-${s.server}-${s.tool}"><td>${s.server}</td><td><a href="/console/tools/${encodeURIComponent(s.server)}/${encodeURIComponent(s.tool)}">${s.tool}</a></td><td>${
      s.status === 'changed'
        ? h`<span class="badge error">changed${s.hidden ? ' · hidden' : ''}</span>`
        : h`<span class="badge ok">pinned</span>`
    }</td><td>${short(s.approvedHash)}</td><td>${short(s.seenHash)}</td><td>${s.approvedBy} ${time(s.approvedAt)}</td></tr>`,
)}</tbody></table></div>`,
      }),
    );
  });

  app.get('/console/tools/:server/:tool', operator, (c) => {
    const session = c.get('session')!;
    const { server, tool } = c.req.param();
    const diff = pins?.diff(server, tool);
    if (pins === undefined || diff === undefined)
      return c.html(
        page({
          title: 'Unknown tool',
          session,
          active: 'tools',
          body: h`<p>No tool ${tool} of ${server} has been seen.</p>`,
        }),
        404,
      );
    const { state } = diff;
    return c.html(
      page({
        title: `${server} / ${tool}`,
        session,
        active: 'tools',
        body: h`<p>Status: ${state.status === 'changed' ? h`<span class="error">changed${state.hidden ? ', hidden from agents' : ''}</span>` : h`<span class="ok">pinned</span>`} · approved ${short(state.approvedHash, 16)} by ${state.approvedBy} ${time(state.approvedAt)} · offered ${short(state.seenHash, 16)} since ${time(state.seenAt)}</p>
${
  diff.changes.length === 0
    ? h`<p>The offered definition is the approved one.</p>`
    : h`<h2>What changed</h2><div class="scroll"><table id="tool-diff"><thead><tr><th scope="col">field</th><th scope="col">change</th><th scope="col">approved</th><th scope="col">offered now</th></tr></thead><tbody>${diff.changes.map(
        (change) =>
          h`<tr><td><code>${change.path}</code></td><td>${change.kind}</td><td><pre>${change.before === undefined ? '' : JSON.stringify(change.before, null, 2)}</pre></td><td><pre>${change.after === undefined ? '' : JSON.stringify(change.after, null, 2)}</pre></td></tr>`,
      )}</tbody></table></div>
<form method="post" action="/console/tools/${encodeURIComponent(server)}/${encodeURIComponent(tool)}/approve">
<input type="hidden" name="_csrf" value="${session.csrf}"><input type="hidden" name="hash" value="${state.seenHash}">
<button type="submit">Approve this definition</button></form>`
}
<h2>History</h2><ol>${pins.history(server, tool).map((e) => h`<li>${time(e.at)} ${e.event} ${short(e.hash)}${e.by === undefined ? '' : ` by ${e.by}`}</li>`)}</ol>
<details><summary>Offered definition</summary><pre>${JSON.stringify(diff.seen, null, 2)}</pre></details>`,
      }),
    );
  });

  app.post('/console/tools/:server/:tool/approve', operator, async (c) => {
    const session = c.get('session')!;
    const { server, tool } = c.req.param();
    const form = await c.req.parseBody();
    const back = (key: 'done' | 'failed', message: string) =>
      c.redirect(`/console/tools?${new URLSearchParams({ [key]: message }).toString()}`, 303);
    if (pins === undefined) return back('failed', 'pinning is off');
    try {
      const hash = typeof form.hash === 'string' && form.hash !== '' ? form.hash : undefined;
      const result = pins.approve(server, tool, `console:${session.name}`, hash);
      return back(
        'done',
        result.approved ? `${server}/${tool} approved` : `${server}/${tool} had nothing to approve`,
      );
    } catch (error) {
      if (isMcpcpError(error, 'ERR_CONFLICT') || isMcpcpError(error, 'ERR_NOT_FOUND'))
        return back('failed', error.message);
      throw error;
    }
  });
}
