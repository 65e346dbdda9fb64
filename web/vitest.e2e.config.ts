import { defineConfig } from 'vitest/config';

/**
 * End-to-end suite: real API + gateway + Debian Chromium. Run after `vite build` (npm run e2e).
 * Waits are sized for a loaded two-core machine: a condition gets 30 s (expect.poll; Playwright's
 * own waits default to 30 s too), a test 2 minutes including its own setup (sign-ins, a study).
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    sequence: { concurrent: false },
    expect: { poll: { timeout: 30_000 } },
  },
});
