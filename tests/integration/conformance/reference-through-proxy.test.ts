// Fidelity in the default configuration: the official conformance suite (@modelcontextprotocol/conformance,
// its CLI as a user runs it) against the suite's own reference everything-server, once directly and once
// through MCPCP configured as the README suggests (`transport: http`, the default `protocol: auto`,
// `namespace: ''`, one agent allowed `**`; the CLI cannot send a Bearer token, so the test-only
// auth-header forwarder adds it). Both the active suite and `--requirements 2026-07-28`. Every check that
// passes directly must pass through the proxy. The direct lanes are on or off as MCPCP_DIRECT_LANES says:
// CI runs this file both ways. The side-by-side table is printed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, loadSigner } from '../../../auth/keys.ts';
import { issueAgentToken } from '../../../auth/tokens.ts';
import { parseConfig } from '../../../config/load.ts';
import { readRuntimeEnv } from '../../../lib/env.ts';
import { createSilentLogger } from '../../../lib/log.ts';
import { startProxy, type RunningProxy } from '../../../proxy/start.ts';
import { runSuite, type SuiteRun } from '../../helpers/conformance.ts';
import { formatComparison, lostChecks, type SuiteComparison } from '../../helpers/conformance-compare.ts';
import { startConformanceReference, type RunningReference } from '../../helpers/conformance-reference.ts';
import { serviceAvailable, services } from '../../support/services.ts';

const lanes = readRuntimeEnv().directLanes ? 'on' : 'off';

/** The README's configuration for a third-party HTTP server, nothing more. */
function readmeConfig(childUrl: string): string {
  return `
proxy:
  listen: { host: 127.0.0.1, port: 0 }
  keysDir: ./keys
servers:
  - id: everything
    namespace: ''
    transport: http
    url: ${childUrl}
agents:
  conformance: { description: runs the official conformance suite }
policy:
  rules:
    - id: conformance-everything
      subjects: [conformance]
      servers: [everything]
      allow: ['**']
`;
}

const suites = [
  { name: 'active (default)', requirements: undefined },
  { name: '--requirements 2026-07-28', requirements: '2026-07-28' as const },
];

describe.runIf(serviceAvailable('conformanceReference'))(
  `the official conformance suite against its reference server, directly and through MCPCP in the default config (lanes ${lanes})`,
  () => {
    let reference: RunningReference | undefined;
    let proxy: RunningProxy | undefined;
    let workDir: string | undefined;
    const rows: SuiteComparison[] = [];

    beforeAll(async () => {
      reference = await startConformanceReference(services.conformanceReference.value!);
      workDir = await mkdtemp(path.join(tmpdir(), 'mcpcp-reference-'));
      const keysDir = path.join(workDir, 'keys');
      await generateKeyPair(keysDir);
      const config = parseConfig(readmeConfig(reference.url), path.join(workDir, 'mcpcp.yaml'), workDir);
      proxy = await startProxy({ config, logger: createSilentLogger() });
      const token = await issueAgentToken(await loadSigner(keysDir), {
        issuer: proxy.urls.issuer,
        audience: proxy.urls.resource,
        agent: 'conformance',
        ttlSeconds: 3_600,
      });
      for (const suite of suites) {
        const options = suite.requirements === undefined ? {} : { requirements: suite.requirements };
        const direct: SuiteRun = await runSuite({ url: reference.url, ...options });
        const proxied: SuiteRun = await runSuite({
          url: proxy.mcpUrl,
          headers: { Authorization: `Bearer ${token}` },
          ...options,
        });
        rows.push({ suite: suite.name, direct, proxied });
      }
    }, 400_000);

    afterAll(async () => {
      if (rows.length > 0)
        process.stdout.write(`\n${formatComparison(`conformance, lanes ${lanes}`, rows)}\n\n`);
      await proxy?.close();
      await reference?.stop();
      if (workDir) await rm(workDir, { recursive: true, force: true });
    });

    it.each(suites.map((s) => s.name))(
      'passes through MCPCP every check of the %s suite that passes directly',
      (name) => {
        const row = rows.find((r) => r.suite === name);
        expect(row, 'the suite did not run').toBeDefined();
        // The reference passes most of it directly: a broken run (no scenarios at all) must not pass vacuously.
        expect(row!.direct.scenarios.size, row!.direct.output).toBeGreaterThan(10);
        const lost = lostChecks(row!.direct, row!.proxied).map(
          (l) => `${l.scenario} / ${l.check}: ${l.status} ${l.message}`,
        );
        expect(lost).toEqual([]);
      },
    );
  },
);
