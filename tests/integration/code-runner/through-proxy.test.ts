// The code runner end to end: agents with their own agent tokens call run_python, run_javascript and runtimes through
// the real proxy, which forwards them to a real code-runner server with its internal child JWT. Python runs in real
// Pyodide interpreter processes from the warm pool; JavaScript in QuickJS worker threads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCodeRunnerHarness, type CodeAgent, type CodeRunnerHarness } from './harness.ts';

let harness: CodeRunnerHarness;
let alice: CodeAgent;

beforeAll(async () => {
  harness = await startCodeRunnerHarness({ 'python-pool': '2' });
  alice = await harness.connect('alice');
  await harness.whenWarm();
}, 300_000);
afterAll(async () => {
  await harness?.close();
});

describe('run_python through the proxy', { timeout: 120_000 }, () => {
  it('does arithmetic and gives the last expression as the result', async () => {
    const out = await alice.run('run_python', { code: 'x = 6\nx * 7' });
    expect(out).toMatchObject({ exit_reason: 'ok', result: 42, stdout: '', stderr: '' });
    expect(out.runtime).toMatchObject({ name: 'python', version: expect.stringMatching(/^3\.\d+/) });
    expect(out.limits.timeout_ms).toBe(10_000);
    expect(out.text).toContain('exit_reason: ok');
    expect(out.text).toContain('--- result ---\n42');
  });

  it('separates stdout from stderr', async () => {
    const out = await alice.run('run_python', {
      code: 'import sys\nprint("to out")\nprint("to err", file=sys.stderr)',
    });
    expect(out).toMatchObject({ exit_reason: 'ok', stdout: 'to out\n', stderr: 'to err\n', result: null });
  });

  it('reports an exception with its type, message and a traceback that points at the program', async () => {
    const out = await alice.run('run_python', { code: 'def f(d):\n    return d["missing"]\n\nf({})' });
    expect(out.exit_reason).toBe('error');
    expect(out.error).toMatchObject({ type: 'KeyError', message: "'missing'" });
    expect(out.error?.traceback).toContain('File "<code>", line 2, in f');
    expect(out.error?.traceback).not.toContain('<exec>'); // the runner's own frames are left out
    expect(out.text).toContain('--- error ---');
  });

  it('reports a syntax error as an error', async () => {
    const out = await alice.run('run_python', { code: 'def (' });
    expect(out.exit_reason).toBe('error');
    expect(out.error?.type).toBe('SyntaxError');
  });

  it('gives a value JSON cannot hold as its repr', async () => {
    const out = await alice.run('run_python', { code: 'object.__new__(type("Thing", (), {}))' });
    expect(out.exit_reason).toBe('ok');
    expect(out.result).toMatch(/^<__main__\.Thing object at/);
  });

  it('reads stdin and a file passed in', async () => {
    const out = await alice.run('run_python', {
      code: 'import csv\nrows = list(csv.reader(open("data/in.csv")))\nname = input()\n[name, len(rows), rows[1][1]]',
      stdin: 'ada\n',
      files: { 'data/in.csv': 'id,value\n1,seven\n2,eight\n' },
    });
    expect(out).toMatchObject({ exit_reason: 'ok', result: ['ada', 3, 'seven'] });
  });

  it('does stdlib work offline: json, re, datetime, decimal, statistics', async () => {
    const code = [
      'import json, re, datetime, decimal, statistics',
      'd = datetime.date(2024, 2, 28) + datetime.timedelta(days=1)',
      'total = sum(decimal.Decimal(x) for x in ["0.10", "0.20"])',
      'words = re.findall(r"[a-z]+", "one, two; three")',
      '{"date": d.isoformat(), "total": str(total), "words": words,',
      ' "median": statistics.median([3, 1, 4, 1, 5]), "json": json.loads(\'{"a": [1]}\')}',
    ].join('\n');
    const out = await alice.run('run_python', { code });
    expect(out.result).toEqual({
      date: '2024-02-29',
      total: '0.30',
      words: ['one', 'two', 'three'],
      median: 3,
      json: { a: [1] },
    });
  });

  it('streams output as log notifications and progress while the program runs', async () => {
    const progress: number[] = [];
    alice.logs.length = 0;
    const result = await alice.call(
      'run_python',
      { code: 'import time\nfor i in range(3):\n    print("tick", i)\n    time.sleep(0.15)' },
      { progress },
    );
    expect(result.isError).toBeUndefined();
    const streamed = alice.logs
      .filter((l) => l.stream === 'stdout')
      .map((l) => l.text)
      .join('');
    expect(streamed).toBe('tick 0\ntick 1\ntick 2\n');
    expect(alice.logs.filter((l) => l.stream === 'stdout').length).toBeGreaterThan(1); // not one block at the end
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(Buffer.byteLength(streamed));
  });
});

describe('run_javascript through the proxy', () => {
  it('captures console output and gives the last expression as the result', async () => {
    const out = await alice.run('run_javascript', {
      code: 'console.log("sum", 1 + 2); console.error("careful"); const o = { a: [1, 2] }; o',
    });
    expect(out).toMatchObject({
      exit_reason: 'ok',
      stdout: 'sum 3\n',
      stderr: 'careful\n',
      result: { a: [1, 2] },
    });
    expect(out.runtime.name).toBe('javascript');
  });

  it('reads stdin, awaits a returned promise, and reports a thrown error with its stack', async () => {
    const read = await alice.run('run_javascript', {
      code: 'stdin.trim().split(",").map(Number)',
      stdin: '1,2,3\n',
    });
    expect(read.result).toEqual([1, 2, 3]);
    const awaited = await alice.run('run_javascript', {
      code: '(async () => { await null; return "later"; })()',
    });
    expect(awaited.result).toBe('later');
    const thrown = await alice.run('run_javascript', {
      code: 'function f() { throw new RangeError("nope") }\nf()',
    });
    expect(thrown.exit_reason).toBe('error');
    expect(thrown.error).toMatchObject({ type: 'RangeError', message: 'nope' });
    expect(thrown.error?.traceback).toContain('code.js:1');
  });

  it('does the same standard-library work (JSON, RegExp, Date, Math)', async () => {
    const out = await alice.run('run_javascript', {
      code:
        'const d = new Date(Date.UTC(2024, 1, 28) + 86400000).toISOString().slice(0, 10);\n' +
        '({ d, words: "one, two; three".match(/[a-z]+/g), max: Math.max(3, 1, 4), json: JSON.parse(\'{"a":[1]}\') })',
    });
    expect(out.result).toEqual({ d: '2024-02-29', words: ['one', 'two', 'three'], max: 4, json: { a: [1] } });
  });
});

describe('runtimes and bad input', { timeout: 60_000 }, () => {
  it('lists versions, limits, the pools and the Python stdlib available offline', async () => {
    const result = await alice.call('runtimes', {});
    const report = result.structuredContent as {
      python: {
        available: boolean;
        version: string;
        packages: { offline: string[] };
        pool: { size: number };
      };
      javascript: { available: boolean };
      limits: { timeout_ms: { max: number } };
    };
    expect(report.python.available).toBe(true);
    expect(report.python.packages.offline).toEqual(
      expect.arrayContaining(['json', 're', 'decimal', 'statistics']),
    );
    expect(report.python.pool.size).toBe(2);
    expect(report.javascript.available).toBe(true);
    expect(report.limits.timeout_ms.max).toBe(30_000);
  });

  it.each([
    ['empty code', { code: '' }],
    ['a timeout over the maximum', { code: '1', timeout_ms: 30_001 }],
    ['a file outside the working folder', { code: '1', files: { '../escape.txt': 'x' } }],
    ['an absolute file path', { code: '1', files: { '/etc/x': 'x' } }],
    ['code over 256 KiB', { code: 'x'.repeat(256 * 1024 + 1) }],
  ])('refuses %s with a clear error and runs nothing', async (_name, args) => {
    const before = await alice.call('runtimes', {});
    const startedBefore = (before.structuredContent as { python: { pool: { started: number } } }).python.pool
      .started;
    const result = await alice.call('run_python', args);
    expect(result.isError).toBe(true);
    const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
    expect(text).toMatch(/invalid|must|path|empty|larger|less than|<=|too/i);
    const after = await alice.call('runtimes', {});
    expect((after.structuredContent as { python: { pool: { started: number } } }).python.pool.started).toBe(
      startedBefore,
    );
  });

  it('is invisible to an agent the policy does not allow', async () => {
    const mallory = await harness.connect('mallory');
    const tools = await mallory.client.listTools();
    expect(tools.tools.map((t) => t.name)).toEqual([]);
  });
});
