#!/usr/bin/env node
/** Entry point of the root package scripts: `npm start`, `npm test`, `npm run test:deployment`, `npm run bench`. */
import { fail } from './bootstrap.mjs';

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
} else {
  fail('usage: node scripts/pacs.mjs start|test|test-deployment|bench');
}
