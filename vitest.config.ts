// Test runner settings: unit and integration tiers share one run; integration tests start real processes.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    reporters: ['default', './tests/support/summary-reporter.ts'],
  },
});
