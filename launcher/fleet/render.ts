// Turns fleet events and status into terminal text: progress lines, the server table, the "connect here" lines.
// Pure string building; the commands decide where it goes.
import type { FleetEvent, FleetStatus, ServerRow } from './fleet.ts';

export function renderTable(rows: readonly ServerRow[]): string {
  const header = ['SERVER', 'PID', 'TRANSPORT', 'ADDRESS', 'STATE', 'TOOLS'];
  const lines = rows.map((row) => [
    row.id,
    row.pid === undefined ? '-' : String(row.pid),
    row.transport,
    row.address ?? '-',
    row.state + (row.restarts ? ` (${row.restarts} restarts)` : ''),
    String(row.tools),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [format(header), ...lines.map(format)].join('\n');
}

/** Problems worth showing under the table: last error and stderr tail of every child that is not ready. */
export function renderProblems(rows: readonly ServerRow[]): string {
  return rows
    .filter((row) => row.state !== 'ready')
    .map((row) => {
      const tail = (row.stderrTail ?? []).slice(-5).map((line) => `    | ${line}`);
      return [`  ${row.id}: ${row.lastError ?? row.state}`, ...tail].join('\n');
    })
    .join('\n');
}

export function renderStatus(status: FleetStatus): string {
  const problems = renderProblems(status.servers);
  return [
    `Fleet pid ${status.pid}, up since ${status.startedAt}${status.configFile ? `, config ${status.configFile}` : ''}`,
    '',
    renderTable(status.servers),
    ...(problems ? ['', 'Problems:', problems] : []),
    '',
    `Agents connect to: ${status.proxy.mcpUrl}`,
  ].join('\n');
}

const failedStates = new Set(['down', 'crash-looping']);

/** One progress line for an event, or undefined when the event is not shown in human mode. */
export function renderProgress(event: FleetEvent, width = 12): string | undefined {
  const name = (id: string) => `  ${id.padEnd(width)}`;
  switch (event.event) {
    case 'child-starting':
      return `${name(event.id)}starting (${event.transport})`;
    case 'child-ready':
      return `${name(event.id)}ready in ${event.ms} ms (${event.tools} tools)`;
    case 'child-failed': {
      const tail = event.stderrTail.slice(-5).map((line) => `${' '.repeat(width + 4)}| ${line}`);
      return [
        `${name(event.id)}failed: ${event.error}`,
        `${' '.repeat(width + 2)}→ ${event.hint}`,
        ...tail,
      ].join('\n');
    }
    case 'child-state':
      // Only a failure has a reason: a child stopped on request is not "stopped: <its last ping error>".
      return `${name(event.id)}${event.state}${event.lastError && failedStates.has(event.state) ? `: ${event.lastError}` : ''}`;
    case 'fleet-stopping':
      return `Stopping (${event.reason})…`;
    case 'fleet-stopped':
      return `Stopped in ${event.ms} ms; no child left running.`;
    default:
      return undefined;
  }
}
