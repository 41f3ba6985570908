// The console's progressive enhancement (the pages read fine without it): live updates over server-sent events
// (the server sends escaped HTML fragments rendered by the same templates as the page), confirmation of stop
// buttons, step-by-step replay of a transcript, and "verify in the browser" (verify.js) of a live channel or of a
// saved transcript file. Never builds HTML from data itself: server fragments or textContent only.
import { verifyInBrowser } from './verify.js';
import canonicalize from './canonicalize.js';

/** [data-live=URL]: an EventSource whose messages replace, prepend or append server-rendered fragments. */
function live(container) {
  const source = new EventSource(container.dataset.live);
  const status = document.getElementById(container.dataset.liveStatus ?? '');
  source.onopen = () => {
    if (status) status.textContent = 'live';
  };
  source.onerror = () => {
    if (status) status.textContent = 'reconnecting…';
  };
  source.onmessage = (event) => {
    const { op, id, html } = JSON.parse(event.data);
    const template = document.createElement('template');
    template.innerHTML = html;
    const node = template.content.firstElementChild;
    if (node === null) return;
    const existing = id ? document.getElementById(id) : null;
    if (op === 'replace' && existing) existing.replaceWith(node);
    else if (op === 'prepend') container.prepend(node);
    else container.append(node);
    const limit = Number(container.dataset.liveLimit ?? 0);
    while (limit > 0 && container.children.length > limit) container.lastElementChild.remove();
    container.dispatchEvent(new CustomEvent('live-update', { bubbles: true }));
  };
}

/** Forms with data-confirm ask first. */
function confirmations() {
  document.addEventListener('submit', (event) => {
    const message = event.target.dataset?.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
}

/** [data-replay]: show the transcript up to step N with first / back / forward / last buttons. */
function replay(section) {
  const rows = () => [...section.querySelectorAll('[data-seq]')];
  const output = section.querySelector('[data-replay-step]');
  let step = rows().length;
  const show = () => {
    const all = rows();
    step = Math.max(0, Math.min(step, all.length));
    all.forEach((row, index) => (row.hidden = index >= step));
    if (output) output.textContent = `message ${step} of ${all.length}`;
  };
  section.querySelectorAll('[data-replay-go]').forEach((button) => {
    button.hidden = false;
    button.addEventListener('click', () => {
      const go = button.dataset.replayGo;
      step = go === 'first' ? 0 : go === 'last' ? rows().length : step + (go === 'next' ? 1 : -1);
      show();
    });
  });
  section.addEventListener('live-update', () => {
    if (step === rows().length - 1) step += 1;
    show();
  });
}

async function jwks() {
  const response = await fetch('/.well-known/jwks.json', { credentials: 'omit' });
  if (!response.ok) throw new Error(`the fleet's keys could not be fetched (HTTP ${response.status})`);
  return response.json();
}

/** ok: true (verified), false (failed), undefined (still working). */
function say(output, ok, text) {
  output.classList.remove('ok', 'error');
  if (ok !== undefined) output.classList.add(ok ? 'ok' : 'error');
  output.textContent = text;
}

function describe(report) {
  if (report.ok)
    return `Verified in your browser: ${report.messages} messages, hash chain intact, ${report.checked.heads} signed head(s) valid, ${report.checked.reveals} reveal(s) match their commitments.`;
  const bad = report.first_bad;
  return `Verification FAILED at ${bad.seq === null ? 'the transcript' : `message #${bad.seq}`} (${bad.check}): ${bad.reason}`;
}

function markRows(root, report) {
  root.querySelectorAll('[data-seq]').forEach((row) => {
    row.classList.remove('bad');
    row.removeAttribute('aria-invalid');
  });
  for (const [seq, mark] of Object.entries(report.marks)) {
    const row = root.querySelector(`[data-seq="${seq}"]`);
    if (row) row.dataset.mark = mark;
  }
  const seq = report.first_bad?.seq;
  const row = seq == null ? null : root.querySelector(`[data-seq="${seq}"]`);
  if (row) {
    row.classList.add('bad');
    row.setAttribute('aria-invalid', 'true');
    row.hidden = false;
    row.scrollIntoView({ block: 'center' });
  }
}

/** [data-verify=URL of the transcript export]: fetch it and the JWKS, verify, say the outcome, mark the bad message. */
function verifyButton(button) {
  const output = document.getElementById(button.dataset.verifyOutput);
  button.hidden = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    say(output, undefined, 'Verifying…');
    try {
      const response = await fetch(button.dataset.verify, { headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error(`the transcript could not be read (HTTP ${response.status})`);
      const report = await verifyInBrowser(await response.json(), await jwks(), {
        canonicalize,
        subtle: crypto.subtle,
      });
      say(output, report.ok, describe(report));
      markRows(document, report);
    } catch (error) {
      say(output, false, `Could not verify: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  });
}

/** A saved transcript (`mcpcp verify --save`) checked against the fleet's keys; its messages listed as text. */
function verifyFile(form) {
  form.hidden = false;
  const output = document.getElementById(form.dataset.verifyFile);
  const list = form.querySelector('ol');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = form.querySelector('input[type=file]').files[0];
    if (!file) return say(output, false, 'Choose a transcript file first.');
    try {
      const transcript = JSON.parse(await file.text());
      list.replaceChildren(
        ...(Array.isArray(transcript.messages) ? transcript.messages : []).map((m) => {
          const item = document.createElement('li');
          item.dataset.seq = String(m.seq);
          item.textContent = `#${m.seq} ${m.from?.agent ?? m.from?.type ?? '?'} ${m.kind}: ${JSON.stringify(m.body)}`;
          return item;
        }),
      );
      const report = await verifyInBrowser(transcript, await jwks(), { canonicalize, subtle: crypto.subtle });
      say(output, report.ok, describe(report));
      markRows(form, report);
    } catch (error) {
      say(output, false, `Could not verify: ${error.message}`);
    }
  });
}

document.querySelectorAll('[data-live]').forEach(live);
document.querySelectorAll('[data-replay]').forEach(replay);
document.querySelectorAll('[data-verify]').forEach(verifyButton);
document.querySelectorAll('[data-verify-file]').forEach(verifyFile);
confirmations();
