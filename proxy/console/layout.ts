// The page shell every console page shares: head (own stylesheet and script only), the navigation for who is signed
// in, the sign-out form with its CSRF token, and a main landmark. Rendered with Hono's html template (auto-escaping
// every value), so a page works without JavaScript. It must not fetch data.
import { html as honoHtml } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ConsoleSession } from './sessions.ts';

/** Hono's `html` tag; values are escaped unless they are themselves `h` results. Never given promises here. */
export const h = honoHtml as (strings: TemplateStringsArray, ...values: unknown[]) => HtmlEscapedString;
export type Html = HtmlEscapedString;

const operatorNav = [
  ['fleet', 'Fleet'],
  ['agents', 'Agents & policy'],
  ['activity', 'Activity'],
  ['tools', 'Tool definitions'],
  ['channels', 'Channels'],
] as const;

export function page(options: {
  title: string;
  session: ConsoleSession | undefined;
  active?: string;
  body: Html;
}): Html {
  const { session } = options;
  const nav =
    session === undefined
      ? []
      : session.kind === 'operator'
        ? operatorNav
        : ([['channels', 'My channels']] as const);
  return h`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · MCPCP console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script type="module" src="/console/assets/console.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">MCPCP console</span>
  <nav aria-label="Console">
    <ul>${nav.map(
      ([id, label]) =>
        h`<li><a href="/console/${id}"${options.active === id ? h` aria-current="page"` : ''}>${label}</a></li>`,
    )}</ul>
  </nav>
  ${
    session === undefined
      ? ''
      : h`<form method="post" action="/console/sign-out" class="signout">
    <input type="hidden" name="_csrf" value="${session.csrf}">
    <span>${session.kind === 'operator' ? 'Operator' : 'Agent'} <strong>${session.name}</strong></span>
    <button type="submit">Sign out</button>
  </form>`
  }
</header>
<main id="main" tabindex="-1"${session === undefined ? '' : h` data-csrf="${session.csrf}"`}>
<h1>${options.title}</h1>
${options.body}
</main>
</body>
</html>`;
}

export function time(ms: number | undefined): Html {
  if (ms === undefined) return h`–`;
  const iso = new Date(ms).toISOString();
  return h`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 19)}</time>`;
}

export function short(hash: string, length = 12): Html {
  return h`<code title="${hash}">${hash.slice(0, length)}…</code>`;
}

export function flash(message: string | undefined, kind: 'ok' | 'error' = 'ok'): Html | string {
  return message === undefined ? '' : h`<p class="flash ${kind}" role="status">${message}</p>`;
}
