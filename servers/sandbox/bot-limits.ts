// The per-hook limits a bot runs under when the caller names none, and their resolution. The channel announces the
// same numbers in bot:attach (servers/channels/rules.ts takes them from here), so what a bot is told, what the
// sandbox enforces and what a verifier's re-run uses are one set. It must not know about channels.
import { resolveSandboxLimits, sandboxLimitDefaults } from './quickjs-engine.ts';
import type { SandboxLimits } from './quickjs-engine.ts';

export const botLimitDefaults: Readonly<SandboxLimits> = Object.freeze({
  /**
   * QuickJS's own allocation accounting, which undercounts small allocations (up to ~3.5x measured): the hard cap
   * on what a hook can touch is the worker's fixed wasm memory (MODULE_MEMORY_BYTES, 128 MiB).
   */
  memoryBytes: 32 * 1024 * 1024,
  instructions: 20_000_000,
  wallMs: 5_000,
  stackBytes: sandboxLimitDefaults.stackBytes,
});

/** A hook's limits: what the caller gave, bot defaults for the rest, each clamped to the sandbox's maximum. */
export function resolveBotLimits(partial?: Partial<SandboxLimits>): SandboxLimits {
  return resolveSandboxLimits(partial, botLimitDefaults);
}
