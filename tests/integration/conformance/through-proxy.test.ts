// The conformance scenarios run THROUGH the MCPCP proxy (real startProxy on port 0, real keys and
// agent token), with the everything fixture as a child whose namespace is '' (names unchanged):
// once as an `http` child (a process this test starts) and once as a `stdio` child (the proxy spawns
// and supervises it). Every scenario the bare fixture passes (expected-passing.json) must pass through the
// proxy too, with the same checks succeeding, in every era: the official suite for 2025-11-25 and
// 2025-06-18 (its CLI cannot send the Bearer token, so runConformance goes through the test-only
// auth-header forwarder), the SDK v2 mirror for 2026-07-28.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { parseConfig } from '../../../config/load.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy } from '../../../proxy/start.ts';
import type { RunningProxy } from '../../../proxy/start.ts';
import { runConformance } from '../../helpers/conformance.ts';
import type { ConformanceEra, ScenarioResult } from '../../helpers/conformance.ts';
import { EVERYTHING_FIXTURE_MAIN, startEverythingFixture } from '../../helpers/everything-fixture.ts';
import type { RunningFixture } from '../../helpers/everything-fixture.ts';
import { loadExpectedPassing } from '../../fixtures/everything-server/expected.ts';

type ChildTransport = 'http' | 'stdio';

/** The fixture's entry in `servers:`: an http URL, or a stdio command the proxy spawns. */
function childYaml(fixture: RunningFixture | undefined): string {
  if (fixture) return `transport: http\n    url: ${fixture.url}`;
  const args = JSON.stringify([EVERYTHING_FIXTURE_MAIN, '--stdio']);
  return `transport: stdio\n    command: ${JSON.stringify(process.execPath)}\n    args: ${args}`;
}

function proxyConfigYaml(fixture: RunningFixture | undefined): string {
  return `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  keysDir: ./keys
servers:
  - id: everything
    namespace: ''
    ${childYaml(fixture)}
agents:
  conformance: { description: the conformance scenarios }
policy:
  rules:
    - id: conformance-everything
      subjects: [conformance]
      servers: [everything]
      allow: ['**']
`;
}

const expected = loadExpectedPassing();

/**
 * Checks the bare fixture passes that the proxy's own front does not offer yet: SSE polling (SEP-1699, all
 * SHOULDs) needs an event store on the proxy's 2025-era sessions to send priming events and a retry field
 * and to resume a stream it closed. The proxy never closes an agent's stream mid-call, so the call still
 * completes (the scenario passes); these three checks report a warning instead of success.
 */
const notThroughTheProxy = new Set([
  'server-sse-priming-event',
  'server-sse-retry-field',
  'server-sse-disconnect-resume',
]);
const eras = Object.keys(expected.eras) as ConformanceEra[];

function explain(result: ScenarioResult | undefined): string {
  if (!result) return 'scenario did not run';
  return result.details.failures.map((f) => `${f.id}: ${f.message}`).join('\n');
}

const transports: readonly ChildTransport[] = ['http', 'stdio'];

describe.each(transports)(
  'conformance scenarios (official suite; SDK v2 mirror for 2026-07-28) through the proxy to an %s child',
  (transport) => {
    let fixture: RunningFixture | undefined;
    let proxy: RunningProxy | undefined;
    let workDir: string | undefined;
    const results = new Map<ConformanceEra, Map<string, ScenarioResult>>();

    beforeAll(async () => {
      if (transport === 'http') fixture = await startEverythingFixture();
      workDir = await mkdtemp(path.join(tmpdir(), 'mcpcp-conformance-proxy-'));
      const keysDir = path.join(workDir, 'keys');
      await generateKeyPair(keysDir);
      const config = parseConfig(proxyConfigYaml(fixture), path.join(workDir, 'mcpcp.yaml'), workDir);
      proxy = await startProxy({ config, logger: createSilentLogger() });
      const token = await issueAgentToken(await loadSigner(keysDir), {
        issuer: proxy.urls.issuer,
        audience: proxy.urls.resource,
        agent: 'conformance',
        ttlSeconds: 3_600,
      });
      // All eras share one proxy and one agent on purpose: state leaking from one session to later ones
      // (e.g. a child SSE stream closed mid-call by server-sse-polling) fails the later scenarios.
      for (const era of eras) {
        const run = await runConformance({
          url: proxy.mcpUrl,
          headers: { Authorization: `Bearer ${token}` },
          era,
          timeoutMs: 60_000,
        });
        results.set(era, new Map(run.map((r) => [r.scenario, r])));
      }
    }, 400_000);

    afterAll(async () => {
      await proxy?.close();
      await fixture?.stop();
      if (workDir) await rm(workDir, { recursive: true, force: true });
    });

    describe.each(eras)('protocol era %s', (era) => {
      const scenarios = Object.entries(expected.eras[era] ?? {});

      it.each(scenarios)('passes scenario %s as the bare fixture does', (scenario, recordedChecks) => {
        const result = results.get(era)?.get(scenario);
        expect(result?.passed, explain(result)).toBe(true);
        const wanted = recordedChecks.filter((check) => !notThroughTheProxy.has(check));
        expect(result?.details.succeeded).toEqual(expect.arrayContaining(wanted));
      });
    });
  },
);
