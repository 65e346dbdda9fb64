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
 *
 * Optional (viewer e2e, issue 7): with PACS_E2E_ORTHANC=1 a real Orthanc is started too
 * (api/test/support/orthanc.ts, DICOMweb plugin, free ports) and the API is configured to use it.
 * Then {"id":3,"dicomStudy":{"spec":…StudySpec,"seed":1}} generates the study (api/scripts/demo-studies.ts),
 * C-STOREs it with storescu, ingests it and answers {id, studyInstanceUid, series, files}.
 * Without PACS_E2E_ORTHANC nothing changes.
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
let orthanc = null;
const orthancEnv = {};
if (process.env.PACS_E2E_ORTHANC === '1') {
  const { startOrthanc } = await import(path.join(root, 'api/test/support/orthanc.ts'));
  orthanc = await startOrthanc({ stableAge: 1, username: 'pacs-api', password: `e2e-${Math.random().toString(36).slice(2)}` });
  Object.assign(orthancEnv, {
    PACS_ORTHANC_URL: orthanc.httpUrl,
    PACS_ORTHANC_USER: orthanc.username,
    PACS_ORTHANC_PASSWORD: orthanc.password,
  });
}
const config = loadConfig({
  ...orthancEnv,
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
  webRoot: process.env.PACS_WEB_DIST ?? path.join(root, 'web', 'dist'),
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
  await orthanc?.stop().catch(() => undefined);
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
    } else if (command.dicomStudy) {
      result = await storeDicomStudy(command.dicomStudy);
    }
    process.stdout.write(`DONE ${command.id} ${JSON.stringify(result ?? null)}\n`);
  } catch (error) {
    process.stdout.write(`DONE ${command.id} ${JSON.stringify({ error: String(error?.message ?? error) })}\n`);
  }
});
process.stdin.on('end', stop);

async function storeDicomStudy({ spec, seed = 1 }) {
  if (!orthanc) throw new Error('start the e2e server with PACS_E2E_ORTHANC=1');
  const { generateStudy } = await import(path.join(root, 'api/scripts/demo-studies.ts'));
  const { storeFiles } = await import(path.join(root, 'api/test/support/orthanc.ts'));
  const study = generateStudy(spec, seed);
  const stored = await storeFiles(orthanc, study.files);
  if (stored.stored !== study.files.length) throw new Error(`stored ${stored.stored}/${study.files.length}: ${stored.output.slice(-500)}`);
  const lookup = await orthanc.request('/tools/lookup', { method: 'POST', body: study.studyInstanceUid });
  const found = (await lookup.json()).find((r) => r.Type === 'Study');
  if (!found) throw new Error('study not found in Orthanc after C-STORE');
  await app.ingestion.ingestor.ingest(found.ID, 'manual');
  const row = await app.db.models.Study.findOne({ where: { studyInstanceUid: study.studyInstanceUid }, raw: true });
  if (!row) throw new Error('study not ingested');
  return {
    id: row.id,
    studyInstanceUid: study.studyInstanceUid,
    series: study.series.map((s) => ({ seriesInstanceUid: s.seriesInstanceUid, instances: s.instances, description: s.description })),
    files: study.files.length,
  };
}

process.stdout.write(`READY ${JSON.stringify({ url, apiPort, dataDir })}\n`);
