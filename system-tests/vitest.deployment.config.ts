import { defineConfig } from 'vitest/config';

// The compose stack under podman (npm run test:deployment): one stack, so one file at a time.
export default defineConfig({
  test: {
    include: ['deployment/**/*.deploy.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
