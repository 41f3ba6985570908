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

/** Buffered destinations, flushed when the process exits (pino flushes only its async ones). */
const buffered = new Set<{ flushSync(): void }>();

function flushAtExit(destination: { flushSync(): void }): void {
  if (buffered.size === 0)
    process.once('exit', () => {
      for (const d of buffered) {
        try {
          d.flushSync();
        } catch {
          // A closed descriptor has nothing left to write to.
        }
      }
    });
  buffered.add(destination);
}

export function createLogger(options: LoggerOptions): Logger {
  const buffer = options.bufferBytes ?? 0;
  // A buffered destination writes synchronously: its writes are rare (one per buffer), and an async
  // write still in flight at exit could land after the exit's own flush, out of order.
  const destination = pino.destination({
    fd: options.destination ?? 2,
    ...(buffer > 0 ? { sync: true, minLength: buffer, periodicFlush: FLUSH_MS } : { sync: false }),
  });
  if (buffer > 0) flushAtExit(destination);
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: {
        paths: ['token', 'authorization', '*.token', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that drops everything, for tests and library callers that do not want logs. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
