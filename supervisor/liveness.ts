// Liveness of a ready child: an MCP `ping` every interval on its own client; a ping that fails or gets no answer
// within the timeout reports the child hung (the supervisor then stops it, and restarts it by its policy).
// One ping at a time. It must not stop or restart anything itself.
import type { Client } from '@modelcontextprotocol/client';

export interface PingOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export const defaultPing: PingOptions = Object.freeze({ intervalMs: 10_000, timeoutMs: 5_000 });

/** Starts pinging; returns the timer to clear. `stillWanted()` false skips a tick (stale generation, not ready). */
export function startPing(
  client: Client,
  ping: PingOptions,
  stillWanted: () => boolean,
  onHung: (reason: string) => void,
): NodeJS.Timeout {
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !stillWanted()) return;
    busy = true;
    client
      .ping({ timeout: ping.timeoutMs })
      .catch((error: unknown) => {
        if (stillWanted()) {
          const why = error instanceof Error ? error.message : String(error);
          onHung(`did not answer ping within ${ping.timeoutMs} ms (${why})`);
        }
      })
      .finally(() => (busy = false));
  }, ping.intervalMs);
  timer.unref();
  return timer;
}
