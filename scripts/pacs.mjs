#!/usr/bin/env node
/**
 * Entry point of the root package scripts: `npm start`, `npm test`, `npm run test:deployment`,
 * `npm run bench`, `npm run backup -- DIR`, `npm run restore -- DIR [--replace]`.
 */
import path from 'node:path';
import { ensureDebianPackages, ensurePnpm, fail, installNodeModules, ROOT, run } from './bootstrap.mjs';

const command = process.argv[2];
if (command === 'start') {
  const { start } = await import('./start.mjs');
  await start();
} else if (command === 'test') {
  const { test } = await import('./test.mjs');
  process.exitCode = await test(process.argv.slice(3));
} else if (command === 'test-deployment') {
  const { testDeployment } = await import('./test-deployment.mjs');
  process.exitCode = await testDeployment(process.argv.slice(3));
} else if (command === 'bench') {
  const { bench } = await import('./bench.mjs');
  process.exitCode = await bench(process.argv.slice(3));
} else if (command === 'backup' || command === 'restore') {
  installNodeModules(ensurePnpm());
  // pg_dump and psql for PostgreSQL databases; Orthanc to rebuild its SQLite index on a restore.
  ensureDebianPackages(['postgresql-client', 'orthanc', 'orthanc-dicomweb', 'orthanc-python', 'orthanc-gdcm'], 'backup and restore');
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  process.exitCode = run(tsx, [path.join(ROOT, 'backup', 'src', 'cli.ts'), command, ...process.argv.slice(3)]);
} else {
  fail('usage: node scripts/pacs.mjs start|test|test-deployment|bench|backup|restore');
}
