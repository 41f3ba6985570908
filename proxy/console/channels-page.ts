// Channels, for operators and for members signed in with their own agent token: the channel list; a channel's
// transcript, live (new messages stream in), with bot messages, commitments and reveals marked; "verify in the
// browser" (assets/verify.js against the fleet's JWKS); a step-by-step replay (buttons with JavaScript, `?step=N`
// links without); and a form that verifies a saved transcript file. A member sees only their own channels: the
// console checks the member's own list, and the channels server refuses a non-member anyway.
import type { Context, Hono } from 'hono';
import { isMcpcpError } from '../../lib/errors.ts';
import type { Principal } from '../gateway/index.ts';
import { knownAgents } from './agents-page.ts';
import { consolePrincipal } from './as-agent.ts';
import type { ChannelMessageView, ChannelSummary, ChannelsAccess } from './channels-access.ts';
import { h, page, time, type Html } from './layout.ts';
import { liveStream } from './live.ts';
import { refuse, requireSession, type ConsoleEnv } from './security.ts';
import type { ConsoleSession } from './sessions.ts';
import type { ConsoleOptions } from './types.ts';

interface Listed extends ChannelSummary {
  /** Agents through whom the console reads it (members). */
  readonly via: readonly string[];
}

function markOf(m: ChannelMessageView): 'commitment' | 'reveal' | undefined {
  if (m.from.type !== 'system') return undefined;
  if (m.kind === 'fairness:reveal') return 'reveal';
  if (m.kind === 'fairness:commit') return 'commitment';
  if (m.kind === 'bot:attach' && (m.body as { fairness?: unknown } | null)?.fairness !== undefined)
    return 'commitment';
  return undefined;
}

function sender(m: ChannelMessageView): Html {
  if (m.from.type === 'agent') return h`${m.from.agent} <span class="muted">(${m.from.slot})</span>`;
  if (m.from.type === 'bot') return h`<span class="badge">bot</span> ${m.from.slot}`;
  return h`<span class="muted">system</span>`;
}

export function messageRow(m: ChannelMessageView, hidden = false): Html {
  const mark = markOf(m);
  const body = JSON.stringify(m.body);
  return h`<tr id="msg-${m.seq}" data-seq="${m.seq}"${mark === undefined ? '' : h` data-mark="${mark}"`}${m.from.type === 'bot' ? h` class="from-bot"` : ''}${hidden ? h` hidden` : ''}>
<td>#${m.seq}</td><td>${time(m.ts)}</td><td>${sender(m)}</td><td><code>${m.kind}</code>${mark === undefined ? '' : h` <span class="badge ${mark === 'reveal' ? 'ok' : 'warn'}">${mark}</span>`}</td><td><code>${body.length > 300 ? `${body.slice(0, 300)}…` : body}</code></td></tr>`;
}

export function mountChannelsPage(
  app: Hono<ConsoleEnv>,
  options: ConsoleOptions,
  access: ChannelsAccess,
): void {
  const anyone = requireSession(['operator', 'member']);

  /** The channels this session may open, each with the agent(s) to read it as. */
  async function listFor(session: ConsoleSession): Promise<Listed[]> {
    if (!access.available) return [];
    if (session.kind === 'member')
      return (await access.list(session.principal!)).map((c) => ({ ...c, via: [session.name] }));
    const merged = new Map<string, Listed>();
    for (const agent of knownAgents(options.config())) {
      let channels: ChannelSummary[];
      try {
        channels = await access.list(consolePrincipal(agent));
      } catch {
        continue; // an agent the policy keeps away from channels
      }
      for (const c of channels) {
        const held = merged.get(c.channel_id);
        merged.set(c.channel_id, { ...c, via: [...(held?.via ?? []), agent] });
      }
    }
    return [...merged.values()];
  }

  /** The principal to read a channel as, or undefined when this session may not open it. */
  async function readerOf(session: ConsoleSession, channelId: string): Promise<Principal | undefined> {
    const listed = (await listFor(session)).find((c) => c.channel_id === channelId);
    if (listed === undefined) return undefined;
    return session.kind === 'member' ? session.principal : consolePrincipal(listed.via[0]!);
  }

  async function withReader(
    c: Context<ConsoleEnv>,
    use: (reader: Principal, id: string) => Promise<Response>,
  ) {
    const id = c.req.param('id') ?? '';
    const reader = await readerOf(c.get('session')!, id);
    if (reader === undefined) return refuse(c, 404, 'No such channel among the ones you may open.');
    try {
      return await use(reader, id);
    } catch (error) {
      if (isMcpcpError(error, 'ERR_NOT_FOUND') || isMcpcpError(error, 'ERR_FORBIDDEN'))
        return refuse(c, 404, 'No such channel among the ones you may open.');
      throw error;
    }
  }

  app.get('/console/channels', anyone, async (c) => {
    const session = c.get('session')!;
    const channels = await listFor(session);
    return c.html(
      page({
        title: session.kind === 'member' ? `Channels of ${session.name}` : 'Channels',
        session,
        active: 'channels',
        body: h`${access.available ? '' : h`<p>This fleet has no channels server.</p>`}
${
  channels.length === 0
    ? h`<p class="muted">No channels yet.</p>`
    : h`<div class="scroll"><table id="channel-list"><thead><tr><th scope="col">channel</th><th scope="col">name</th><th scope="col">state</th><th scope="col">messages</th><th scope="col">admin</th>${session.kind === 'operator' ? h`<th scope="col">members seen</th>` : ''}</tr></thead><tbody>${channels.map(
        (ch) =>
          h`<tr><td><a href="/console/channels/${encodeURIComponent(ch.channel_id)}"><code>${ch.channel_id}</code></a></td><td>${ch.name}</td><td>${ch.state}</td><td>${ch.head_seq}</td><td>${ch.admin}</td>${session.kind === 'operator' ? h`<td>${ch.via.join(', ')}</td>` : ''}</tr>`,
      )}</tbody></table></div>`
}
<h2>Verify a saved transcript</h2>
<noscript><p>Verifying a file happens in your browser and needs JavaScript; without it use <code>mcpcp verify --file FILE --jwks JWKS</code>.</p></noscript>
<form id="verify-file" data-verify-file="verify-file-result" hidden>
<label for="transcript-file">Transcript file (from <code>mcpcp verify --save</code>)</label>
<input id="transcript-file" type="file" accept="application/json,.json">
<p><button type="submit">Verify in the browser</button></p>
<p id="verify-file-result" class="result" role="status" aria-live="polite"></p>
<ol class="messages"></ol>
</form>`,
      }),
    );
  });

  app.get('/console/channels/:id/transcript.json', anyone, (c) =>
    withReader(c, async (reader, id) => c.json(await access.transcript(reader, id))),
  );

  app.get('/console/channels/:id', anyone, (c) =>
    withReader(c, async (reader, id) => {
      const session = c.get('session')!;
      const transcript = await access.transcript(reader, id);
      const total = transcript.messages.length;
      const stepText = c.req.query('step');
      const step = stepText === undefined ? total : Math.max(0, Math.min(total, Number(stepText) || 0));
      const last = transcript.messages.at(-1)?.seq ?? 0;
      const link = (n: number, label: string) =>
        h`<a href="?step=${Math.max(0, Math.min(total, n))}#replay">${label}</a>`;
      return c.html(
        page({
          title: `Channel ${id}`,
          session,
          active: 'channels',
          body: h`<p>${total} messages · <span id="channel-live" aria-live="polite">as of page load</span> · <a href="/console/channels/${encodeURIComponent(id)}/transcript.json" download="${id}.json">download the transcript</a> (verify it with <code>mcpcp verify --file</code>)</p>
<p><button type="button" id="verify" data-verify="/console/channels/${encodeURIComponent(id)}/transcript.json" data-verify-output="verify-result" hidden>Verify in the browser</button></p>
<p id="verify-result" class="result" role="status" aria-live="polite"><noscript>Verifying in the browser needs JavaScript; without it use <code>mcpcp verify</code>.</noscript></p>
<section id="replay" data-replay aria-label="Transcript">
<p class="replay-controls">Replay: <button type="button" data-replay-go="first" hidden>« first</button> <button type="button" data-replay-go="prev" hidden>◀ back</button> <button type="button" data-replay-go="next" hidden>forward ▶</button> <button type="button" data-replay-go="last" hidden>last »</button>
<noscript>${link(0, 'first')} · ${link(step - 1, 'back')} · ${link(step + 1, 'forward')} · ${link(total, 'last')}</noscript>
<output data-replay-step>message ${step} of ${total}</output></p>
<div class="scroll"><table><thead><tr><th scope="col">seq</th><th scope="col">time</th><th scope="col">from</th><th scope="col">kind</th><th scope="col">body</th></tr></thead>
<tbody id="messages" data-live="/console/events/channels/${encodeURIComponent(id)}?after=${last}" data-live-status="channel-live">${transcript.messages.map((m, i) => messageRow(m, i >= step))}</tbody></table></div>
</section>`,
        }),
      );
    }),
  );

  app.get('/console/events/channels/:id', anyone, (c) =>
    withReader(c, (reader, id) => {
      const after = Math.max(0, Number(c.req.query('after')) || 0);
      return Promise.resolve(
        liveStream(c, (send) => {
          let stopped = false;
          void access
            .session(reader, async (call) => {
              let cursor = after;
              while (!stopped) {
                const page = (await call('sync_messages', {
                  channel_id: id,
                  cursor,
                  limit: 200,
                  wait_ms: 10_000,
                })) as {
                  messages: ChannelMessageView[];
                  cursor: number;
                };
                if (stopped) break;
                for (const m of page.messages)
                  send({ op: 'append', id: `msg-${m.seq}`, html: messageRow(m).toString() });
                cursor = page.cursor;
              }
            })
            .catch((error: unknown) => options.logger.debug({ err: error }, 'console channel stream ended'));
          return () => {
            stopped = true;
          };
        }),
      );
    }),
  );
}
