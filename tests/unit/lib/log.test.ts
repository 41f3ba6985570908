// The buffered logger in a real child process: lines reach the file descriptor within the flush
// interval, every line is written when the process exits, and tokens stay redacted.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const logModule = fileURLToPath(new URL('../../../lib/log.ts', import.meta.url));

/** Runs `body` in a child with `log` a logger on stdout; resolves with the stdout lines as they came. */
function runChild(
  body: string,
): Promise<{ lines: { at: number; line: Record<string, unknown> }[]; closedAt: number }> {
  const script = `
    import { AUDIT_BUFFER_BYTES, createLogger } from ${JSON.stringify(logModule)};
    const log = createLogger({ name: 'test', destination: 1, bufferBytes: AUDIT_BUFFER_BYTES });
    ${body}
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = Date.now();
    const lines: { at: number; line: Record<string, unknown> }[] = [];
    let rest = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const part of parts) lines.push({ at: Date.now() - started, line: JSON.parse(part) });
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve({ lines, closedAt: Date.now() - started });
      else reject(new Error(`child exited ${code}: ${stderr}`));
    });
  });
}

describe('createLogger with bufferBytes', () => {
  it('writes a lone line within the flush interval, long before the process ends', async () => {
    const { lines, closedAt } = await runChild(`
      log.info({ event: 'call' }, 'first');
      setTimeout(() => undefined, 2500);
    `);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.line).toMatchObject({ event: 'call', msg: 'first' });
    // Written by the periodic flush (200 ms), not by the exit 2.5 s after the line.
    expect(closedAt - lines[0]!.at).toBeGreaterThan(1500);
  });

  it('writes every buffered line when the process exits at once', async () => {
    const { lines } = await runChild(`
      for (let i = 0; i < 50; i++) log.info({ i, token: 'secret-token' }, 'line');
      process.exit(0);
    `);
    expect(lines.map(({ line }) => line.i)).toEqual([...Array(50).keys()]);
    expect(JSON.stringify(lines)).not.toContain('secret-token');
  });
});
