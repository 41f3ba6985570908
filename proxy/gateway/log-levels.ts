// MCP log levels in order of severity, and the one comparison the proxy's own filtering needs.
import type { LoggingLevel } from '@modelcontextprotocol/server';

const levels: LoggingLevel[] = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
];

export function levelAllows(threshold: LoggingLevel | undefined, level: unknown): boolean {
  if (threshold === undefined) return true;
  const at = levels.indexOf(level as LoggingLevel);
  return at < 0 || at >= levels.indexOf(threshold);
}
