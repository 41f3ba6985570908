import { describe, expect, it } from 'vitest';
import { sampleArguments, serverOf } from '../../../client/demo.ts';
import { parseConfig } from '../../../config/load.ts';
import { renderProgress, renderTable } from '../../../launcher/fleet/render.ts';
import { ChildLog, type ChildLogLine } from '../../../supervisor/child-log.ts';
import { needsListeningLine, parseListeningLine } from '../../../supervisor/readiness.ts';

describe('listening line', () => {
  it('reads the URL from the one line first-party servers print', () => {
    expect(parseListeningLine('{"event":"listening","url":"http://127.0.0.1:4321/mcp"}')).toBe(
      'http://127.0.0.1:4321/mcp',
    );
  });

  it('ignores other lines, other events and non-http URLs', () => {
    expect(parseListeningLine('listening on 4321')).toBeUndefined();
    expect(parseListeningLine('{"event":"ready","url":"http://127.0.0.1:1/mcp"}')).toBeUndefined();
    expect(parseListeningLine('{"event":"listening","url":"file:///etc/passwd"}')).toBeUndefined();
    expect(parseListeningLine('{"event":"listening"')).toBeUndefined();
  });

  it('is needed when the configured URL is absent or has port 0', () => {
    expect(needsListeningLine(undefined)).toBe(true);
    expect(needsListeningLine('http://127.0.0.1:0/mcp')).toBe(true);
    expect(needsListeningLine('http://127.0.0.1:3001/mcp')).toBe(false);
  });
});

describe('child log', () => {
  it('keeps the last stderr lines and summarises a flood instead of forwarding every line', () => {
    let now = 0;
    const seen: ChildLogLine[] = [];
    const log = new ChildLog({
      id: 'x',
      sink: (entry) => seen.push(entry),
      tailLines: 3,
      maxLinesPerSecond: 5,
      now: () => now,
    });
    for (let i = 0; i < 20; i += 1) log.write('stderr', `line ${i}`);
    expect(log.tail()).toEqual(['line 17', 'line 18', 'line 19']);
    expect(seen).toHaveLength(5);
    now = 1_000;
    log.write('stdout', 'after');
    expect(seen.slice(5).map((entry) => entry.line)).toEqual(['(15 more output lines suppressed)', 'after']);
    log.close();
  });
});

describe('render', () => {
  it('prints the server table with aligned columns', () => {
    const table = renderTable([
      {
        id: 'everything',
        transport: 'stdio',
        state: 'ready',
        pid: 12,
        address: 'stdio',
        tools: 13,
        owner: 'proxy',
      },
      {
        id: 'web',
        transport: 'http',
        state: 'crash-looping',
        restarts: 5,
        address: 'http://127.0.0.1:1/mcp',
        tools: 0,
        owner: 'launcher',
      },
    ]);
    expect(table.split('\n')).toEqual([
      'SERVER      PID  TRANSPORT  ADDRESS                 STATE                       TOOLS',
      'everything  12   stdio      stdio                   ready                       13',
      'web         -    http       http://127.0.0.1:1/mcp  crash-looping (5 restarts)  0',
    ]);
  });

  it('says what failed and what to do', () => {
    const line = renderProgress({
      event: 'child-failed',
      id: 'web',
      ms: 5,
      error: 'exited with code 3',
      hint: 'fix it',
      stderrTail: ['boom'],
    });
    expect(line).toBe(
      ['  web         failed: exited with code 3', '              → fix it', '                | boom'].join(
        '\n',
      ),
    );
  });
});

describe('child state lines', () => {
  it('gives a reason only for a failure, never a stale one for a child stopped on request', () => {
    const stale = 'did not answer ping within 5000 ms';
    expect(renderProgress({ event: 'child-state', id: 'channels', state: 'stopped', lastError: stale })).toBe(
      '  channels    stopped',
    );
    expect(renderProgress({ event: 'child-state', id: 'channels', state: 'down', lastError: stale })).toBe(
      `  channels    down: ${stale}`,
    );
  });
});

describe('demo helpers', () => {
  const config = parseConfig(
    `servers:
  - { id: a, transport: stdio, command: x }
  - { id: ab, namespace: a_b, transport: stdio, command: x }
`,
    'inline.yaml',
    '/tmp',
  );

  it('maps a qualified name to its server by the longest namespace prefix', () => {
    expect(serverOf(config, 'a_echo')).toBe('a');
    expect(serverOf(config, 'a_b_echo')).toBe('ab');
    expect(serverOf(config, 'zzz')).toBeUndefined();
  });

  it('fills required arguments with values of the right type', () => {
    const tool = {
      name: 't',
      inputSchema: {
        type: 'object' as const,
        properties: {
          s: { type: 'string' },
          n: { type: 'number' },
          e: { type: 'string', enum: ['x', 'y'] },
          o: { type: 'string' },
        },
        required: ['s', 'n', 'e'],
      },
    };
    expect(sampleArguments(tool, 'bob')).toEqual({ s: 'hello from bob', n: 1, e: 'x' });
  });
});
