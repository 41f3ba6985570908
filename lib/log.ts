// Structured JSON logs to stderr (stdout is the MCP channel for stdio servers). Never log tokens.
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  name: string;
  level?: string;
  destination?: number;
  /**
   * Lines are gathered up to this many bytes (or for at most 200 ms) before one write, instead of one
   * write per line. For a process that logs a line per request (the proxy's audit line): measured with
   * bench/proxy.ts, one write per line was ~0.05 ms of each call's CPU. Buffered lines are written on
   * exit; only a process killed outright loses the last 200 ms.
   */
  bufferBytes?: number;
}

/** The buffer for a logger that writes an audit line per request. */
export const AUDIT_BUFFER_BYTES = 4096;

/** How long a buffered line may wait for its write. */
const FLUSH_MS = 200;

export function createLogger(options: LoggerOptions): Logger {
  const buffer = options.bufferBytes ?? 0;
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: {
        paths: ['token', 'authorization', '*.token', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination({
      fd: options.destination ?? 2,
      sync: false,
      ...(buffer > 0 ? { minLength: buffer, periodicFlush: FLUSH_MS } : {}),
    }),
  );
}

/** A logger that drops everything, for tests and library callers that do not want logs. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
