// The fleet page: every child with its state, pid, transport, restarts, tools, last error and stderr tail, live
// (a row is re-sent whenever it changes), and restart / stop buttons (POST with the CSRF token; they work without
// JavaScript: the answer redirects back to the page with a message).
import type { Hono } from 'hono';
import { isMcpcpError } from '../../lib/errors.ts';
import { flash, h, page, type Html } from './layout.ts';
import { liveStream } from './live.ts';
import { requireSession, type ConsoleEnv } from './security.ts';
import type { FleetControl, FleetRow } from './types.ts';

const rowId = (id: string) => `srv-${id}`;

export function fleetRow(row: FleetRow, csrf: string): Html {
  const controllable = row.owner !== 'external';
  return h`<tr id="${rowId(row.id)}" data-state="${row.state}">
  <th scope="row">${row.id}</th>
  <td><span class="state state-${row.state}">${row.state}</span></td>
  <td>${row.pid ?? '–'}</td>
  <td>${row.transport}<br><span class="muted">${row.address ?? ''}</span></td>
  <td>${row.owner}</td>
  <td>${row.restarts ?? 0}</td>
  <td>${row.tools}</td>
  <td>${row.lastError ?? ''}${
    row.stderrTail && row.stderrTail.length > 0
      ? h`<details><summary>stderr (${row.stderrTail.length} lines)</summary><pre>${row.stderrTail.join('\n')}</pre></details>`
      : ''
  }</td>
  <td>${
    controllable
      ? h`<form method="post" action="/console/fleet/${row.id}/restart" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" aria-label="Restart ${row.id}">Restart</button></form>
  <form method="post" action="/console/fleet/${row.id}/stop" class="inline" data-confirm="Stop ${row.id}? It stays down until restarted."><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" class="danger" aria-label="Stop ${row.id}">Stop</button></form>`
      : h`<span class="muted">runs elsewhere</span>`
  }</td>
</tr>`;
}

function fleetTable(rows: readonly FleetRow[], csrf: string): Html {
  return h`<p>State: <span id="fleet-live" aria-live="polite">as of page load</span></p>
<div class="scroll"><table>
<caption class="muted">${rows.length} servers</caption>
<thead><tr><th scope="col">server</th><th scope="col">state</th><th scope="col">pid</th><th scope="col">transport</th><th scope="col">run by</th><th scope="col">restarts</th><th scope="col">tools</th><th scope="col">last error / stderr</th><th scope="col">actions</th></tr></thead>
<tbody data-live="/console/events/fleet" data-live-status="fleet-live">${rows.map((row) => fleetRow(row, csrf))}</tbody>
</table></div>`;
}

export function mountFleetPage(app: Hono<ConsoleEnv>, fleet: FleetControl): void {
  const operator = requireSession(['operator']);
  app.get('/console/fleet', operator, (c) => {
    const session = c.get('session')!;
    const done = c.req.query('done');
    const failed = c.req.query('failed');
    return c.html(
      page({
        title: 'Fleet',
        session,
        active: 'fleet',
        body: h`${flash(done)}${flash(failed, 'error')}${fleetTable(fleet.rows(), session.csrf)}`,
      }),
    );
  });

  app.get('/console/events/fleet', operator, (c) => {
    const csrf = c.get('session')!.csrf;
    return liveStream(c, (send) => {
      const last = new Map(fleet.rows().map((row) => [row.id, JSON.stringify(row)]));
      const timer = setInterval(() => {
        for (const row of fleet.rows()) {
          const text = JSON.stringify(row);
          if (last.get(row.id) === text) continue;
          last.set(row.id, text);
          send({ op: 'replace', id: rowId(row.id), html: fleetRow(row, csrf).toString() });
        }
      }, 500);
      return () => clearInterval(timer);
    });
  });

  for (const action of ['restart', 'stop'] as const) {
    app.post(`/console/fleet/:id/${action}`, operator, async (c) => {
      const id = c.req.param('id');
      const back = (key: 'done' | 'failed', message: string) =>
        c.redirect(`/console/fleet?${new URLSearchParams({ [key]: message }).toString()}`, 303);
      try {
        await (action === 'restart' ? fleet.restart(id) : fleet.stop(id));
        return back('done', action === 'restart' ? `${id} is restarting` : `${id} stopped`);
      } catch (error) {
        if (isMcpcpError(error, 'ERR_NOT_FOUND')) return back('failed', `no server ${id}`);
        if (isMcpcpError(error, 'ERR_FORBIDDEN')) return back('failed', error.message);
        throw error;
      }
    });
  }
}
