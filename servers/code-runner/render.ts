// The text rendering of a run's result, for clients that read only a tool result's text (the structured content
// carries the same facts). Pure; it must not add facts the structured result does not have.
import type { RunOutput } from './limits.ts';

function section(title: string, body: string): string {
  return `--- ${title} ---\n${body.endsWith('\n') ? body : `${body}\n`}`;
}

export function renderRunText(output: RunOutput): string {
  const head = `exit_reason: ${output.exit_reason} (${output.runtime.name} ${output.runtime.version}, ${output.runtime.engine}; ${output.duration_ms} ms)`;
  const parts = [`${head}\n`];
  const why: Partial<Record<RunOutput['exit_reason'], string>> = {
    timeout: `stopped after its ${output.limits.timeout_ms} ms wall-clock limit`,
    memory: `stopped at its memory limit (${Math.round(output.limits.memory_bytes / 1048576)} MiB)`,
    output_limit: `stopped after writing ${output.limits.output_bytes} bytes of output (the limit)`,
  };
  const note = why[output.exit_reason];
  if (note) parts.push(`${note}\n`);
  if (output.stdout) parts.push(section('stdout', output.stdout));
  if (output.stderr) parts.push(section('stderr', output.stderr));
  if (output.result !== null && output.result !== undefined) {
    parts.push(
      section(
        'result',
        typeof output.result === 'string' ? output.result : JSON.stringify(output.result, null, 2),
      ),
    );
  }
  if (output.error)
    parts.push(section('error', output.error.traceback || `${output.error.type}: ${output.error.message}`));
  return parts.join('');
}
