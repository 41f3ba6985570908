// Structured JSON logs to stderr (stdout is the MCP channel for stdio servers). Never log tokens.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { name: string; level?: string; destination?: number }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: {
        paths: ['token', 'authorization', '*.token', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: options.destination ?? 2, sync: false }),
  );
}

/** A logger that drops everything, for tests and library callers that do not want logs. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
