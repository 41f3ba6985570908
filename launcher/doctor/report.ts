// The doctor's checklist: one result per check, rendered as text with the fix for each miss, or as JSON.
// It must not run checks.

export interface CheckResult {
  /** Stable id (for --json and tests), e.g. 'issuer'. */
  id: string;
  title: string;
  status: 'pass' | 'warn' | 'fail' | 'skip';
  detail?: string | undefined;
  fix?: string | undefined;
}

export interface DoctorReport {
  target: string;
  ok: boolean;
  checks: CheckResult[];
}

export function buildReport(target: string, checks: CheckResult[]): DoctorReport {
  return { target, ok: checks.every((c) => c.status !== 'fail'), checks };
}

const marks: Record<CheckResult['status'], string> = { pass: '✓', warn: '!', fail: '✗', skip: '-' };

export function renderReport(report: DoctorReport): string {
  const lines = [`mcpcp doctor ${report.target}`];
  for (const check of report.checks) {
    lines.push(
      `${marks[check.status]} ${check.title}${check.detail === undefined ? '' : `: ${check.detail}`}`,
    );
    if (check.fix !== undefined && check.status !== 'pass') lines.push(`    fix: ${check.fix}`);
  }
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    report.ok
      ? `all checks passed${warned > 0 ? ` (${warned} warning${warned > 1 ? 's' : ''})` : ''}`
      : `${failed} check${failed > 1 ? 's' : ''} failed`,
  );
  return `${lines.join('\n')}\n`;
}
