import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database, so files run side by side. Vitest's default on two cores is
    // one worker; most of a file's time is spent waiting on Orthanc, the sync-server or a socket,
    // so two workers take the suite from about 345 s to 195 s on SQLite (282 → 187 s on PostgreSQL).
    pool: 'forks',
    maxWorkers: 2,
    // Each file builds its own app on its own database, so the modules themselves can be shared
    // by the files a worker runs: importing the app once per worker instead of once per file
    // saves about a minute of a suite that runs twice (SQLite, PostgreSQL).
    isolate: false,
  },
});
