// What one run of an agent's program produces, whichever engine ran it (Pyodide in pyodide-process.ts, QuickJS in
// js-snippet.ts). Types only; the code runner (servers/code-runner) turns these into its tool results.

export type ExitReason = 'ok' | 'error' | 'timeout' | 'memory' | 'output_limit';

export interface RunError {
  type: string;
  message: string;
  traceback: string;
}

/** The last expression: {json: TEXT} when it is JSON-able, {repr: TEXT} otherwise; null when there was none. */
export type RunResultValue = { json: string } | { repr: string } | null;

export interface CodeRunOutcome {
  stdout: string;
  stderr: string;
  result: RunResultValue;
  exit_reason: ExitReason;
  error?: RunError;
  duration_ms: number;
}

export type OutputListener = (stream: 'stdout' | 'stderr', text: string) => void;

/** Caps stdout + stderr at `maxBytes` (UTF-8); past it, `add` returns false and the run must stop. */
export interface OutputCollector {
  readonly stdout: string;
  readonly stderr: string;
  add(stream: 'stdout' | 'stderr', text: string): boolean;
}

export function createOutputCollector(maxBytes: number, listener?: OutputListener): OutputCollector {
  const out = { stdout: '', stderr: '' };
  let bytes = 0;
  let full = false;
  return {
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    add(stream, text) {
      if (full) return false;
      const size = Buffer.byteLength(text);
      if (bytes + size <= maxBytes) {
        bytes += size;
        out[stream] += text;
        listener?.(stream, text);
        return true;
      }
      // keep what fits (never a split character), then refuse everything after
      const kept = new TextDecoder()
        .decode(Buffer.from(text).subarray(0, maxBytes - bytes))
        .replace(/\uFFFD$/, '');
      bytes = maxBytes;
      full = true;
      out[stream] += kept;
      if (kept) listener?.(stream, kept);
      return false;
    },
  };
}
