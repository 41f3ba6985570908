// Compares two runs of the official conformance suite check by check (directly against a server, and
// through MCPCP) and prints them side by side. A check counts as passing only with status SUCCESS, as
// the CLI's own totals count it; a check the second run never reached counts as lost.
import type { ConformanceCheck, SuiteRun } from './conformance.ts';

export interface CheckLoss {
  scenario: string;
  check: string;
  /** Its status through the proxy, or 'MISSING' when the proxied run never reported it. */
  status: ConformanceCheck['status'] | 'MISSING';
  message: string;
}

export interface Totals {
  passed: number;
  failed: number;
}

/** SUCCESS and FAILURE counts over every check, as the CLI's `Total:` line counts them. */
export function totals(run: SuiteRun): Totals {
  let passed = 0;
  let failed = 0;
  for (const checks of run.scenarios.values()) {
    for (const check of checks) {
      if (check.status === 'SUCCESS') passed += 1;
      else if (check.status === 'FAILURE') failed += 1;
    }
  }
  return { passed, failed };
}

/** Every check that succeeded in `direct` and did not succeed in `proxied`. */
export function lostChecks(direct: SuiteRun, proxied: SuiteRun): CheckLoss[] {
  const losses: CheckLoss[] = [];
  for (const [scenario, checks] of direct.scenarios) {
    const there = new Map((proxied.scenarios.get(scenario) ?? []).map((c) => [c.id, c]));
    for (const check of checks) {
      if (check.status !== 'SUCCESS') continue;
      const other = there.get(check.id);
      if (other?.status === 'SUCCESS') continue;
      losses.push({
        scenario,
        check: check.id,
        status: other?.status ?? 'MISSING',
        message: (other?.errorMessage ?? other?.description ?? '').slice(0, 300),
      });
    }
  }
  return losses;
}

export interface SuiteComparison {
  suite: string;
  direct: SuiteRun;
  proxied: SuiteRun;
}

/** The side-by-side table: one row per suite, then every scenario whose outcome differs. */
export function formatComparison(title: string, rows: readonly SuiteComparison[]): string {
  const lines = [title, '', '| suite | direct | through MCPCP | lost checks |', '|---|---|---|---|'];
  for (const row of rows) {
    const d = totals(row.direct);
    const p = totals(row.proxied);
    lines.push(
      `| ${row.suite} | ${d.passed} passed / ${d.failed} failed | ${p.passed} / ${p.failed} | ${lostChecks(row.direct, row.proxied).length} |`,
    );
  }
  for (const row of rows) {
    const differing: string[] = [];
    for (const scenario of new Set([...row.direct.scenarios.keys(), ...row.proxied.scenarios.keys()])) {
      const count = (run: SuiteRun): string => {
        const checks = run.scenarios.get(scenario);
        if (checks === undefined) return 'not run';
        const ok = checks.filter((c) => c.status === 'SUCCESS').length;
        const bad = checks.filter((c) => c.status === 'FAILURE').length;
        return `${ok}/${bad}`;
      };
      const direct = count(row.direct);
      const proxied = count(row.proxied);
      if (direct !== proxied) differing.push(`  ${scenario}: direct ${direct}, through MCPCP ${proxied}`);
    }
    if (differing.length > 0)
      lines.push('', `${row.suite}: scenarios whose passed/failed counts differ`, ...differing);
  }
  return lines.join('\n');
}
