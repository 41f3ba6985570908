// What outside services the tests may use, as `.ci/run` (see `.ci/services.sh`) starts them: a Docker engine,
// a throwaway PostgreSQL cluster, Chromium, the conformance suite's reference server. Under CI a missing
// service fails the test that needs it; on a developer's machine that test is skipped with a line saying how
// to enable it.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ServiceAvailability {
  /** The value the test uses (a URL, a path), or undefined when the service is absent. */
  readonly value: string | undefined;
  /** When absent: why, and how to enable it locally. */
  readonly reason: string;
}

const inCi = process.env.CI === 'true' || process.env.MCPCP_TEST_REQUIRE_SERVICES === '1';

function conformanceReference(): string | undefined {
  const candidates = [
    process.env.MCPCP_CONFORMANCE_REFERENCE,
    resolve(import.meta.dirname, '../../../shared/conformance-reference'),
    '/work/shared/conformance-reference',
  ];
  return candidates.find((dir) => dir !== undefined && existsSync(resolve(dir, 'everything-server.ts')));
}

export const services = {
  docker: {
    value:
      process.env.MCPCP_TEST_DOCKER === 'required' || existsSync('/var/run/docker.sock')
        ? 'docker'
        : undefined,
    reason: 'no Docker engine: start dockerd (apt-get install docker.io) or run .ci/run',
  },
  postgres: {
    value: process.env.MCPCP_TEST_POSTGRES_URL,
    reason:
      'no PostgreSQL: set MCPCP_TEST_POSTGRES_URL=postgres://… (or run .ci/run, which starts a throwaway cluster)',
  },
  chromium: {
    value:
      process.env.MCPCP_TEST_CHROMIUM ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined),
    reason: 'no Chromium: apt-get install chromium, or set MCPCP_TEST_CHROMIUM to its path',
  },
  conformanceReference: {
    value: conformanceReference(),
    reason:
      'the conformance reference server was not found: set MCPCP_CONFORMANCE_REFERENCE to shared/conformance-reference',
  },
} satisfies Record<string, ServiceAvailability>;

/**
 * Whether a suite that needs `service` should run. Under CI a missing service throws, so the suite fails
 * instead of silently skipping; elsewhere it returns false and prints how to enable it.
 */
export function serviceAvailable(name: keyof typeof services): boolean {
  const service = services[name];
  if (service.value !== undefined) return true;
  if (inCi) throw new Error(`${name} is required under CI: ${service.reason}`);
  process.stderr.write(`skipping ${name} tests: ${service.reason}\n`);
  return false;
}
