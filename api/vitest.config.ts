import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database; files run in parallel on the two cores.
    pool: 'forks',
    // Each file builds its own app on its own database, so the modules themselves can be shared
    // by the files a worker runs: importing the app once per worker instead of once per file
    // saves about a minute of a suite that runs twice (SQLite, PostgreSQL).
    isolate: false,
  },
});
