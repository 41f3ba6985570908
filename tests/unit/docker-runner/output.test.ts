import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createOutputCollector, type OutputChunk } from '../../../servers/docker-runner/output.ts';
import { drained, exitReason } from '../../../servers/docker-runner/run-result.ts';

const write = (stream: NodeJS.WritableStream, data: string | Buffer) =>
  new Promise<void>((resolve) => stream.write(data, () => resolve()));

describe('output collector', () => {
  it('keeps both streams up to maxBytes together, flags the rest and calls onLimit once', async () => {
    let limits = 0;
    const out = createOutputCollector({ maxBytes: 10, onLimit: () => (limits += 1) });
    await write(out.stdout, 'hello');
    await write(out.stderr, 'err');
    await write(out.stdout, 'world!');
    await write(out.stdout, 'more');
    expect(out.result()).toEqual({ stdout: 'hellowo', stderr: 'err', truncated: true });
    expect(limits).toBe(1);
  });

  it('is not truncated at exactly maxBytes', async () => {
    const out = createOutputCollector({ maxBytes: 4 });
    await write(out.stdout, 'abcd');
    expect(out.result()).toEqual({ stdout: 'abcd', stderr: '', truncated: false });
  });

  it('streams coalesced pieces in order and decodes UTF-8 split across writes', async () => {
    const chunks: OutputChunk[] = [];
    const out = createOutputCollector({ maxBytes: 1_000, onChunk: (c) => chunks.push(c), flushMs: 10_000 });
    const euro = Buffer.from('€');
    await write(out.stdout, Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]));
    await write(out.stdout, euro.subarray(1));
    await write(out.stderr, 'E');
    await write(out.stdout, 'b');
    out.flush();
    expect(chunks.map((c) => [c.stream, c.text])).toEqual([
      ['stdout', 'a€'],
      ['stderr', 'E'],
      ['stdout', 'b'],
    ]);
    expect(chunks.at(-1)?.bytes).toBe(6);
  });

  it('sends a piece once flushBytes are pending', async () => {
    const chunks: OutputChunk[] = [];
    const out = createOutputCollector({
      maxBytes: 1_000,
      onChunk: (c) => chunks.push(c),
      flushBytes: 4,
      flushMs: 10_000,
    });
    await write(out.stdout, 'ab');
    expect(chunks).toEqual([]);
    await write(out.stdout, 'cd');
    expect(chunks.map((c) => c.text)).toEqual(['abcd']);
  });
});

describe('run results', () => {
  it("puts the runner's own stop before the OOM killer", () => {
    expect(exitReason(undefined, false)).toBe('exited');
    expect(exitReason(undefined, true)).toBe('oom');
    expect(exitReason('timeout', true)).toBe('timeout');
    expect(exitReason('output_limit', false)).toBe('output_limit');
  });

  it('drains a stream until it ends, or until it goes quiet', async () => {
    const ends = new PassThrough();
    const ending = drained(ends, 1_000, 5_000);
    ends.resume();
    ends.end('x');
    await ending;
    const quiet = new PassThrough();
    quiet.resume();
    const started = Date.now();
    const waiting = drained(quiet, 50, 5_000);
    setTimeout(() => quiet.write('still talking'), 30);
    await waiting;
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
