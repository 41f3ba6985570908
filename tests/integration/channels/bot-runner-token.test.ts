// channels → bot-runner over MCP with internal tokens that live 2 s, checked with no clock tolerance: a runner
// connection older than a token's life still sends fresh ones, so the bot-runner never refuses a request (it
// used to take one token per connection, get refused once it expired, and reconnect).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueChildToken } from '../../../auth/internal.ts';
import { loadSigner } from '../../../auth/keys.ts';
import { startKitServer, type RunningKitServer } from '../../../servers/_kit/main.ts';
import { createMcpBotRunner } from '../../../servers/bot-runner/mcp-runner.ts';
import { botRunnerServerSpec } from '../../../servers/bot-runner/server.ts';
import { counterBot } from '../../fixtures/bots/counter-bot.ts';
import { memoryLogger } from '../proxy-edge/harness.ts';
import { createHarness, issuer, type Harness } from './harness.ts';

describe('channels calling a bot-runner with short-lived internal tokens', () => {
  let h: Harness;
  let server: RunningKitServer;
  const logs = memoryLogger();

  beforeAll(async () => {
    h = await createHarness();
    server = await startKitServer(botRunnerServerSpec, {
      dataDir: join(h.dir, 'runner'),
      keysDir: h.keysDir,
      issuer,
      port: 0,
      clockToleranceSeconds: 0,
      logger: logs.logger,
    });
  });
  afterAll(async () => {
    await server?.close();
    await h?.cleanup();
  });

  it('sends a fresh token with every request, so none is refused after the first one expired', async () => {
    const signer = await loadSigner(h.keysDir);
    let issued = 0;
    const runner = await createMcpBotRunner({
      url: server.url,
      token: () => {
        issued += 1;
        return issueChildToken(signer, { issuer, child: 'bot-runner', agent: 'channels', ttlSeconds: 2 });
      },
    });
    try {
      const input = {
        source: counterBot,
        hook: 'init',
        randomKey: 'ab'.repeat(32),
        randomCounter: 0,
        now: 1,
      };
      const first = await runner.run(input as Parameters<typeof runner.run>[0]);
      await sleep(3_000);
      const second = await runner.run(input as Parameters<typeof runner.run>[0]);
      expect(second).toEqual(first);
      expect(logs.lines.filter((line) => line.includes('rejected request'))).toEqual([]);
      expect(issued).toBeGreaterThanOrEqual(3);
    } finally {
      await runner.close();
    }
  }, 30_000);
});
