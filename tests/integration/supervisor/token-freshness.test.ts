// A first-party HTTP child (the real bot-runner server) that verifies internal tokens with no clock tolerance, under
// a supervisor whose tokens live 2 s: left running for several token lifetimes, with a ping every 200 ms, it is
// never restarted, because every request (each ping included) carries a token asked for just before it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { issueChildToken } from '../../../auth/internal.ts';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { supervise, type Supervisor } from '../../../supervisor/supervisor.ts';
import { isGone } from '../launcher/helpers.ts';

const botRunnerMain = new URL('../../../servers/bot-runner/main.ts', import.meta.url).pathname;
const issuer = 'http://mcpcp.freshness.test';
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('internal tokens of the supervisor', () => {
  it('keeps a first-party child up across several token lifetimes: every ping carries a fresh token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpcp-freshness-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const keysDir = join(dir, 'keys');
    await generateKeyPair(keysDir);
    const signer = await loadSigner(keysDir);
    const issued = new Set<string>();
    const ttlSeconds = 2;
    const supervisor: Supervisor = supervise({
      id: 'bot-runner',
      transport: 'http',
      command: process.execPath,
      args: [
        botRunnerMain,
        '--keys-dir',
        keysDir,
        '--issuer',
        issuer,
        '--data-dir',
        dir,
        '--clock-tolerance',
        '0',
      ],
      bearerToken: async () => {
        const token = await issueChildToken(signer, {
          issuer,
          child: 'bot-runner',
          agent: 'mcpcp-launcher',
          ttlSeconds,
        });
        issued.add(token);
        return token;
      },
      ping: { intervalMs: 200, timeoutMs: 2_000 },
      readyTimeoutMs: 15_000,
      restart: { policy: 'on-failure', maxRestarts: 5, windowMs: 60_000, backoffMs: 20, maxBackoffMs: 100 },
    });
    const outcome = await supervisor.start();
    cleanups.push(() => supervisor.stop());
    expect(outcome.ok).toBe(true);
    const pid = outcome.status.pid!;
    cleanups.push(() => isGone(pid));

    await sleep(3 * ttlSeconds * 1000);

    const status = supervisor.status();
    expect(status.lastError).toBeUndefined();
    expect(status).toMatchObject({ state: 'ready', restarts: 0, pid });
    // Renewed while it ran (one token per half lifetime at most), not one token for the whole run.
    expect(issued.size).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
