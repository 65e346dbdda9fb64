/**
 * The system under test for the e2e suite, in ONE process that the suite starts and stops by pid:
 * the real API (api/src/app.ts, SQLite in a temporary directory) and the real same-origin gateway
 * (scripts/gateway.mjs) serving web/dist. Run with tsx (it imports the API's TypeScript):
 *
 *   cd api && ../node_modules/.bin/tsx ../web/e2e/server.mjs
 *
 * Prints one line `READY {"url":…}` on stdout. Commands on stdin, one JSON per line, answered
 * with `DONE <id> <json>`: {"id":1,"seed":{…StudySeed}} inserts a study through the API's own
 * test helper (api/test/support/studies.ts; there is no HTTP endpoint that creates studies
 * without Orthanc); {"id":2,"seedMany":{"count":N}} inserts N routine studies.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const root = path.resolve(import.meta.dirname, '..', '..');
const { buildApp } = await import(path.join(root, 'api/src/app.ts'));
const { loadConfig } = await import(path.join(root, 'api/src/config.ts'));
const { seedStudy } = await import(path.join(root, 'api/test/support/studies.ts'));
const { startGateway } = await import(path.join(root, 'scripts/gateway.mjs'));

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pacs-web-e2e-'));
const config = loadConfig({
  PACS_ENV: 'development',
  PACS_DATA_DIR: dataDir,
  PACS_API_HOST: '127.0.0.1',
  PACS_API_PORT: '0',
  PACS_JWT_SECRET: 'e2e-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
  PACS_LOG_LEVEL: 'warn',
  PACS_TRUST_PROXY: 'true',
  PACS_LOGIN_RATE_PER_MINUTE: '1000',
  PACS_RECONCILE_INTERVAL_SECONDS: '0',
});
const app = await buildApp(config);
await app.listen({ host: '127.0.0.1', port: 0 });
const apiPort = app.server.address().port;
const api = { host: '127.0.0.1', port: apiPort };
const gateway = await startGateway({
  port: 0,
  host: '127.0.0.1',
  webRoot: path.join(root, 'web', 'dist'),
  upstreams: [
    ['/api', api],
    ['/health', api],
    ['/dicom-web', api],
  ],
});
const url = `http://127.0.0.1:${gateway.address().port}`;

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  gateway.close();
  await app.close().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch {
    return;
  }
  try {
    let result;
    if (command.seed) {
      const seed = { ...command.seed };
      if (seed.receivedAt) seed.receivedAt = new Date(seed.receivedAt);
      const row = await seedStudy(app, seed);
      result = { id: row.id, version: row.version };
    } else if (command.seedMany) {
      const ids = [];
      for (let i = 0; i < command.seedMany.count; i++) ids.push((await seedStudy(app, command.seedMany.seed ?? {})).id);
      result = { count: ids.length };
    }
    process.stdout.write(`DONE ${command.id} ${JSON.stringify(result ?? null)}\n`);
  } catch (error) {
    process.stdout.write(`DONE ${command.id} ${JSON.stringify({ error: String(error?.message ?? error) })}\n`);
  }
});
process.stdin.on('end', stop);

process.stdout.write(`READY ${JSON.stringify({ url, apiPort, dataDir })}\n`);
