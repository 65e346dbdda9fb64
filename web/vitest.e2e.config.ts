import { defineConfig } from 'vitest/config';

/** End-to-end suite: real API + gateway + Debian Chromium. Run after `vite build` (npm run e2e). */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 90_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
