// Starts the everything fixture server (tests/fixtures/everything-server) as a real child process
// on 127.0.0.1 port 0 and reads its `{"event":"listening","url":…}` line. Stopping sends SIGTERM,
// then SIGKILL after a grace period.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const EVERYTHING_FIXTURE_MAIN = fileURLToPath(
  new URL('../fixtures/everything-server/main.ts', import.meta.url),
);

export interface RunningFixture {
  url: string;
  pid: number;
  /** What the fixture wrote to stderr so far (for failure messages). */
  stderr(): string;
  stop(): Promise<void>;
}

export interface StartFixtureOptions {
  port?: number;
  readyTimeoutMs?: number;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startEverythingFixture(options: StartFixtureOptions = {}): Promise<RunningFixture> {
  const args = [EVERYTHING_FIXTURE_MAIN, '--port', String(options.port ?? 0)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 3_000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 3_000);
    }
  };

  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(
        () =>
          reject(new Error(`everything fixture not listening after ${options.readyTimeoutMs ?? 15_000} ms`)),
        options.readyTimeoutMs ?? 15_000,
      );
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`everything fixture exited early (code ${code}, signal ${signal}): ${stderr}`));
      });
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        const newline = stdout.indexOf('\n');
        if (newline < 0) return;
        clearTimeout(timer);
        try {
          const line = JSON.parse(stdout.slice(0, newline)) as { event?: unknown; url?: unknown };
          if (line.event === 'listening' && typeof line.url === 'string') resolve(line.url);
          else reject(new Error(`unexpected first stdout line: ${stdout.slice(0, newline)}`));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    return { url, pid: child.pid ?? -1, stderr: () => stderr, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
