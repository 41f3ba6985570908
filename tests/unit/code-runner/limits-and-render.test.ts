// Pure parts of the code runner: which file paths and inputs the schemas accept, the output cap, the text rendering,
// and the batching of output notifications (with a recording sink standing in for the MCP connection).
import { describe, expect, it } from 'vitest';
import { codeRunnerLimits, isSafeRelativePath, runPythonInput } from '../../../servers/code-runner/limits.ts';
import { createOutputNotifier } from '../../../servers/code-runner/output-notifier.ts';
import { renderRunText } from '../../../servers/code-runner/render.ts';
import { createOutputCollector } from '../../../servers/sandbox/code-run-types.ts';

describe('code runner input', () => {
  it.each(['a.txt', 'data/in.csv', 'my file.txt', 'x/y/z-1_2.json', '.hidden'])(
    'accepts the path %s',
    (path) => {
      expect(isSafeRelativePath(path)).toBe(true);
    },
  );
  it.each(['/etc/passwd', '../x', 'a/../../x', 'a/./b', './a', 'a//b', 'a/', '', 'a\\b', 'a:b', 'ü.txt'])(
    'refuses the path %s',
    (path) => {
      expect(isSafeRelativePath(path)).toBe(false);
    },
  );
  it('caps code, stdin, timeout and files', () => {
    const ok = runPythonInput.safeParse({
      code: 'print(1)',
      stdin: 'x',
      files: { 'a.txt': 'x' },
      timeout_ms: 5,
    });
    expect(ok.success).toBe(true);
    const cases = [
      { code: '' },
      { code: 'x'.repeat(codeRunnerLimits.codeBytes + 1) },
      { code: '1', stdin: 'é'.repeat(codeRunnerLimits.stdinBytes / 2 + 1) },
      { code: '1', timeout_ms: 0 },
      { code: '1', timeout_ms: 1.5 },
      { code: '1', files: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`f${i}`, ''])) },
      { code: '1', files: { big: 'x'.repeat(codeRunnerLimits.files.totalBytes + 1) } },
    ];
    for (const input of cases) expect(runPythonInput.safeParse(input).success).toBe(false);
  });
});

describe('output cap', () => {
  it('keeps what fits without splitting a character, then refuses', () => {
    const seen: string[] = [];
    const out = createOutputCollector(5, (_stream, text) => seen.push(text));
    expect(out.add('stdout', 'abc')).toBe(true);
    expect(out.add('stderr', 'dé!')).toBe(false); // "d" + 2-byte "é" would be 6 bytes
    expect(out.add('stdout', 'more')).toBe(false);
    expect([out.stdout, out.stderr, seen]).toEqual(['abc', 'd', ['abc', 'd']]);
  });
});

describe('text rendering', () => {
  const base = {
    stdout: '',
    stderr: '',
    result: null,
    runtime: { name: 'python', version: '3.14.2', engine: 'pyodide 314.0.8' },
    limits: { timeout_ms: 1000, memory_bytes: 256 * 1048576, output_bytes: 1048576 },
    duration_ms: 12,
  };
  it('shows the outcome, the streams, the result and the error', () => {
    const text = renderRunText({
      ...base,
      exit_reason: 'error',
      stdout: 'out\n',
      stderr: 'err',
      error: { type: 'KeyError', message: "'k'", traceback: "Traceback…\nKeyError: 'k'" },
    });
    expect(text).toBe(
      'exit_reason: error (python 3.14.2, pyodide 314.0.8; 12 ms)\n--- stdout ---\nout\n--- stderr ---\nerr\n' +
        "--- error ---\nTraceback…\nKeyError: 'k'\n",
    );
  });
  it('says why a run was stopped', () => {
    expect(renderRunText({ ...base, exit_reason: 'timeout' })).toContain('1000 ms wall-clock limit');
    expect(renderRunText({ ...base, exit_reason: 'memory' })).toContain('256 MiB');
    expect(renderRunText({ ...base, exit_reason: 'ok', result: { a: 1 } })).toContain(
      '--- result ---\n{\n  "a": 1\n}',
    );
  });
});

describe('output notifications', () => {
  it('batches chunks per stream and reports bytes as progress, all sent by flush', async () => {
    const logs: string[] = [];
    const progress: number[] = [];
    const notifier = createOutputNotifier({
      log: (stream, text) => Promise.resolve(void logs.push(`${stream}:${text}`)),
      progress: (bytes) => Promise.resolve(void progress.push(bytes)),
      intervalMs: 10_000,
    });
    notifier.listener('stdout', 'a\n');
    notifier.listener('stdout', 'b\n');
    notifier.listener('stderr', 'e\n');
    expect(logs).toEqual([]); // nothing before the interval or a flush
    await notifier.flush();
    expect(logs).toEqual(['stdout:a\nb\n', 'stderr:e\n']);
    expect(progress.at(-1)).toBe(6);
  });
  it('sends a chunk as soon as it reaches the size limit', async () => {
    const logs: string[] = [];
    const notifier = createOutputNotifier({
      log: (_stream, text) => Promise.resolve(void logs.push(text)),
      intervalMs: 10_000,
      maxChunk: 4,
    });
    notifier.listener('stdout', 'abcd');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(logs).toEqual(['abcd']);
    await notifier.flush();
  });
});
