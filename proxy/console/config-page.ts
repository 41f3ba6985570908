// The config file as it is on disk now, numbered line by line, with each validation problem (parse or schema, from
// config/load.ts's own issues with line and column) shown at its line, and the policy reload status. An invalid
// edit is exactly what the proxy rejected: the previous policy stays in force.
import { readFile } from 'node:fs/promises';
import type { Hono } from 'hono';
import { compilePolicy } from '../../auth/policy.ts';
import { parseConfig, type ConfigIssue } from '../../config/load.ts';
import { isMcpcpError } from '../../lib/errors.ts';
import { h, page } from './layout.ts';
import { requireSession, type ConsoleEnv } from './security.ts';
import type { ConsoleOptions } from './types.ts';

/** The file's problems (empty when it is valid), as `mcpcp config check` would report them. */
export function configIssues(text: string, file: string): ConfigIssue[] {
  try {
    compilePolicy(parseConfig(text, file));
    return [];
  } catch (error) {
    if (isMcpcpError(error) && Array.isArray(error.details?.issues))
      return error.details.issues as ConfigIssue[];
    const message = error instanceof Error ? error.message : String(error);
    return [{ file, line: 1, col: 1, path: '(config)', message }];
  }
}

export function mountConfigPage(app: Hono<ConsoleEnv>, options: ConsoleOptions): void {
  app.get('/console/config', requireSession(['operator']), async (c) => {
    const session = c.get('session')!;
    const file = options.configFile;
    if (file === undefined)
      return c.html(
        page({
          title: 'Config',
          session,
          active: 'agents',
          body: h`<p>This proxy was started without a config file.</p>`,
        }),
      );
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      return c.html(
        page({
          title: 'Config',
          session,
          active: 'agents',
          body: h`<p class="flash error">${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).</p>`,
        }),
      );
    }
    const issues = configIssues(text, file);
    const byLine = new Map<number, ConfigIssue[]>();
    for (const issue of issues) byLine.set(issue.line, [...(byLine.get(issue.line) ?? []), issue]);
    const status = options.reloadStatus();
    return c.html(
      page({
        title: 'Config',
        session,
        active: 'agents',
        body: h`<p><code>${file}</code>: ${
          issues.length === 0
            ? h`<span class="ok" id="config-status">valid</span>`
            : h`<span class="error" id="config-status">${issues.length} problem(s)</span>; the proxy keeps the last valid policy`
        }. Reload: ${
          status.at === undefined
            ? 'none since start'
            : status.ok
              ? h`<span class="ok">applied</span> at ${new Date(status.at).toISOString()}`
              : h`<span class="error">rejected</span> at ${new Date(status.at).toISOString()}`
        }.</p>
${issues.length === 0 ? '' : h`<ul id="config-issues">${issues.map((i) => h`<li><a href="#L${i.line}">line ${i.line}:${i.col}</a> <code>${i.path}</code>: ${i.message}</li>`)}</ul>`}
<ol class="lines">${text.split('\n').map((line, index) => {
          const problems = byLine.get(index + 1) ?? [];
          return h`<li id="L${index + 1}"${problems.length > 0 ? h` class="has-error"` : ''}><code>${line === '' ? ' ' : line}</code>${problems.map((p) => h`<span class="issue">↑ ${p.path}: ${p.message}</span>`)}</li>`;
        })}</ol>`,
      }),
    );
  });
}
