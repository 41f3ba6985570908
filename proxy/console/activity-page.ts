// Activity: the audit stream, live (agent, method, name, server, decision, rule, duration, outcome) with filters
// (they apply to the page and to its live stream alike, so they work without JavaScript), and small charts of the
// call rates per agent and per tool (from the metrics) and their latencies (from the audit events).
import type { Hono } from 'hono';
import type { ActivityEvent, ActivityFeed } from './activity-feed.ts';
import { bar, sparkline } from './charts.ts';
import { h, page, time, type Html } from './layout.ts';
import { liveStream } from './live.ts';
import { latencies, type RateSampler } from './rates.ts';
import { requireSession, type ConsoleEnv } from './security.ts';

const filterFields = ['agent', 'method', 'name', 'server', 'decision', 'outcome'] as const;
type Filters = Partial<Record<(typeof filterFields)[number], string>>;

function filtersOf(query: Record<string, string>): Filters {
  const filters: Filters = {};
  for (const field of filterFields) {
    const value = query[field]?.trim();
    if (value) filters[field] = value;
  }
  return filters;
}

function matches(event: ActivityEvent, filters: Filters): boolean {
  return filterFields.every((field) => {
    const wanted = filters[field];
    return wanted === undefined || (event[field] ?? '').includes(wanted);
  });
}

export function activityRow(event: ActivityEvent): Html {
  return h`<tr class="${event.decision === 'allow' ? '' : 'warn'}"><td>${time(event.at)}</td><td>${event.agent}</td><td>${event.method}</td><td><code>${event.name}</code></td><td>${event.server ?? ''}</td><td>${event.decision}</td><td>${event.rule}</td><td>${event.durationMs.toFixed(1)} ms</td><td>${event.outcome}</td></tr>`;
}

function charts(sampler: RateSampler, feed: ActivityFeed): Html {
  const rateList = (title: string, rows: ReturnType<RateSampler['byAgent']>) =>
    h`<div class="card"><h3>${title}</h3>${
      rows.length === 0
        ? h`<p class="muted">no calls yet</p>`
        : h`<div class="scroll"><table><tbody>${rows.slice(0, 8).map((r) => {
            const last = r.perMinute.at(-1) ?? 0;
            return h`<tr><th scope="row"><code>${r.key}</code></th><td>${sparkline(r.perMinute, `${r.key}: ${last.toFixed(1)} calls per minute now, ${r.total} in all`)}</td><td>${r.total}</td></tr>`;
          })}</tbody></table></div>`
    }</div>`;
  const latencyList = (title: string, by: 'agent' | 'name') => {
    const rows = latencies(feed.recent(), by).slice(0, 8);
    const max = Math.max(...rows.map((r) => r.p95), 0);
    return h`<div class="card"><h3>${title}</h3>${
      rows.length === 0
        ? h`<p class="muted">no calls yet</p>`
        : h`<div class="scroll"><table><tbody>${rows.map(
            (r) =>
              h`<tr><th scope="row"><code>${r.key}</code></th><td>${bar(r.p95, max, `${r.key}: p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms over ${r.calls} calls`)}</td><td>p50 ${r.p50.toFixed(1)} · p95 ${r.p95.toFixed(1)} ms</td></tr>`,
          )}</tbody></table></div>`
    }</div>`;
  };
  return h`<div class="grid">${rateList('Calls per minute by agent', sampler.byAgent())}${rateList('Calls per minute by tool', sampler.byTool())}${latencyList('Latency by agent', 'agent')}${latencyList('Latency by tool', 'name')}</div>`;
}

export function mountActivityPage(app: Hono<ConsoleEnv>, feed: ActivityFeed, sampler: RateSampler): void {
  const operator = requireSession(['operator']);
  app.get('/console/activity', operator, (c) => {
    const session = c.get('session')!;
    const filters = filtersOf(c.req.query());
    const rows = feed
      .recent()
      .filter((e) => matches(e, filters))
      .slice(-200)
      .reverse();
    const query = new URLSearchParams(filters as Record<string, string>).toString();
    return c.html(
      page({
        title: 'Activity',
        session,
        active: 'activity',
        body: h`${charts(sampler, feed)}
<h2>Audit stream</h2>
<form method="get" action="/console/activity" class="filters" aria-label="Filter the audit stream">
${filterFields.map((f) => h`<div><label for="f-${f}">${f}</label><input id="f-${f}" name="${f}" type="text" value="${filters[f] ?? ''}" size="12"></div>`)}
<div><button type="submit">Filter</button> <a href="/console/activity">clear</a></div>
</form>
<p>Newest first · <span id="activity-live" aria-live="polite">as of page load</span></p>
<div class="scroll"><table><thead><tr><th scope="col">time</th><th scope="col">agent</th><th scope="col">method</th><th scope="col">name</th><th scope="col">server</th><th scope="col">decision</th><th scope="col">rule</th><th scope="col">duration</th><th scope="col">outcome</th></tr></thead>
<tbody id="audit-rows" data-live="/console/events/activity${query === '' ? '' : `?${query}`}" data-live-status="activity-live" data-live-limit="200">${rows.map(activityRow)}</tbody></table></div>`,
      }),
    );
  });

  app.get('/console/events/activity', operator, (c) => {
    const filters = filtersOf(c.req.query());
    return liveStream(c, (send) =>
      feed.subscribe((event) => {
        if (matches(event, filters)) send({ op: 'prepend', html: activityRow(event).toString() });
      }),
    );
  });
}
