// The official MCP conformance suite's server scenarios against the bare everything fixture
// (a real child process on port 0), in every protocol era the suite covers. Each scenario recorded
// in expected-passing.json must still pass, with every check it passed when recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listServerScenarios, runConformance } from '../../helpers/conformance.ts';
import type { ConformanceEra, ScenarioResult } from '../../helpers/conformance.ts';
import { startEverythingFixture } from '../../helpers/everything-fixture.ts';
import type { RunningFixture } from '../../helpers/everything-fixture.ts';
import { loadExpectedPassing } from '../../fixtures/everything-server/expected.ts';

const expected = loadExpectedPassing();
const eras = Object.keys(expected.eras) as ConformanceEra[];

function explain(result: ScenarioResult | undefined): string {
  if (!result) return 'scenario did not run';
  return result.details.failures.map((f) => `${f.id}: ${f.message}`).join('\n');
}

describe('conformance scenarios (official suite; SDK v2 mirror for 2026-07-28) against the bare everything fixture', () => {
  let fixture: RunningFixture;
  const results = new Map<ConformanceEra, Map<string, ScenarioResult>>();
  let forwarded: ScenarioResult[] = [];

  beforeAll(async () => {
    fixture = await startEverythingFixture();
    for (const era of eras) {
      const run = await runConformance({ url: fixture.url, era, timeoutMs: 60_000 });
      results.set(era, new Map(run.map((r) => [r.scenario, r])));
    }
    // The same suite through the auth-header forwarder, which through-proxy.test.ts relies on.
    forwarded = await runConformance({
      url: fixture.url,
      headers: { Authorization: 'Bearer not-checked-by-the-fixture' },
      era: '2025-11-25',
      timeoutMs: 60_000,
    });
  }, 300_000);

  afterAll(async () => {
    await fixture?.stop();
  });

  describe.each(eras)('protocol era %s', (era) => {
    const scenarios = Object.entries(expected.eras[era] ?? {});

    it.each(scenarios)('passes scenario %s', (scenario, recordedChecks) => {
      const result = results.get(era)?.get(scenario);
      expect(result?.passed, explain(result)).toBe(true);
      expect(result?.details.succeeded).toEqual(expect.arrayContaining(recordedChecks));
    });

    it('has a recorded outcome for every scenario the installed suite lists', async () => {
      const listed = await listServerScenarios(era);
      const recorded = new Set([...scenarios.map(([name]) => name), ...(expected.knownFailing[era] ?? [])]);
      const unrecorded = listed.filter((name) => !recorded.has(name));
      expect(unrecorded, 'run: node tests/fixtures/everything-server/record-expected.ts').toEqual([]);
    });
  });

  it('gives the same outcome through the auth-header forwarder (the adapter is transparent)', () => {
    const direct = results.get('2025-11-25');
    const differences = forwarded
      .filter((r) => direct?.get(r.scenario)?.passed !== r.passed)
      .map((r) => `${r.scenario}: ${explain(r)}`);
    expect(forwarded.length).toBeGreaterThan(0);
    expect(differences).toEqual([]);
  });
});
