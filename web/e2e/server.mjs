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
 * PACS_E2E_SECURITY_HEADERS names another nginx-style headers file for the static files (the OHIF
 * interop test serves OHIF's build, which needs inline scripts and WebAssembly, in place of ours).
 *
 * Optional (viewer e2e): with PACS_E2E_ORTHANC=1 a real Orthanc is started too
 * (the test kit's Orthanc, DICOMweb plugin, free ports) and the API is configured to use it.
 * Then {"id":3,"dicomStudy":{"spec":…StudySpec,"seed":1}} generates the study (the test kit's demo studies),
 * C-STOREs it with storescu, ingests it and answers {id, studyInstanceUid, series, files}.
 * Without PACS_E2E_ORTHANC nothing changes.
 * Also with Orthanc: {"orthancInfo":true} answers Orthanc's URL and credentials (loopback; tests upload
 * corpus files over REST with them); {"demoStudy":{"index":n,"seed":s}} stores study n of the demo set
 * (the test kit's demo studies) the same way and also answers its patientName and description;
 * {"ingestStudy":{"studyInstanceUid":…}} ingests a study already in Orthanc and answers {id, orthancId}.
 * With PACS_E2E_SSO=1 a real OpenID provider (the test kit's, TLS with its own CA) is started and the
 * API is configured to sign in through it; {"idp":{"account":{sub,email,name,groups,active?}}} adds or
 * changes an account there, {"idp":{"tamper":"id-token-audience"|"none"}} makes it misbehave.
 * Always: {"hl7":"MSH|…"} hands a message to the API's HL7 inbound pipeline (as MLLP would) and
 * answers {ack}; {"deadResult":{"patientId":…}} writes an undeliverable result into the outbox. PACS_E2E_ORTHANC_WEBVIEWER=1 also loads Orthanc's Web Viewer plugin.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
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
  // Opt-in (benchmarks): also load Orthanc's own Web Viewer plugin (orthanc/config.ts reads PACS_ORTHANC_WEBVIEWER).
  if (process.env.PACS_E2E_ORTHANC_WEBVIEWER === '1') process.env.PACS_ORTHANC_WEBVIEWER = '1';
  const { startOrthanc } = await import(path.join(root, 'test-kit/src/orthanc/index.ts'));
  orthanc = await startOrthanc({ stableAge: 1, username: 'pacs-api', password: `e2e-${Math.random().toString(36).slice(2)}` });
  Object.assign(orthancEnv, {
    PACS_ORTHANC_URL: orthanc.httpUrl,
    PACS_ORTHANC_USER: orthanc.username,
    PACS_ORTHANC_PASSWORD: orthanc.password,
  });
}
const syncEnabled = process.env.PACS_E2E_SYNC === '1';
const syncSecrets = syncEnabled
  ? {
      PACS_DOCUMENT_TOKEN_SECRET: `e2e-document-${Math.random().toString(36).slice(2)}-0123456789abcdefghijklmnop`,
      PACS_SYNC_SERVICE_TOKEN: `e2e-service-${Math.random().toString(36).slice(2)}-0123456789abcdefghijklmnop`,
    }
  : {};
const syncPort = syncEnabled ? await freePort() : 0;
// DICOMweb links (BulkDataURIs) are written for the gateway's origin: its port is chosen first.
const gatewayPort = await freePort();
// With PACS_E2E_SSO=1: a real OpenID provider (the test kit's, over TLS) the API signs users in through.
let idp = null;
const ssoEnv = {};
if (process.env.PACS_E2E_SSO === '1') {
  const { makePki } = await import(path.join(root, 'test-kit/src/pki.ts'));
  const { startIdentityProvider } = await import(path.join(root, 'test-kit/src/identity-provider/index.ts'));
  const pki = makePki(dataDir, 'hospital');
  idp = await startIdentityProvider({
    pki,
    redirectUri: `http://127.0.0.1:${gatewayPort}/api/auth/oidc/callback`,
    postLogoutRedirectUri: `http://127.0.0.1:${gatewayPort}/?signed_out=sso`,
  });
  Object.assign(ssoEnv, {
    PACS_OIDC_ISSUER: idp.issuer,
    PACS_OIDC_CLIENT_ID: idp.client.clientId,
    PACS_OIDC_CLIENT_SECRET: idp.client.clientSecret,
    PACS_OIDC_SCOPES: 'openid profile email groups offline_access',
    PACS_OIDC_CA_FILE: pki.ca,
    PACS_OIDC_PROVISIONING: process.env.PACS_E2E_SSO_PROVISIONING ?? 'automatic',
  });
}
const config = loadConfig({
  PACS_PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
  ...ssoEnv,
  ...orthancEnv,
  ...(syncEnabled ? { ...syncSecrets, PACS_SYNC_URL: `http://127.0.0.1:${syncPort}` } : {}),
  PACS_ENV: 'development',
  PACS_DATA_DIR: dataDir,
  PACS_API_HOST: '127.0.0.1',
  PACS_API_PORT: '0',
  PACS_JWT_SECRET: 'e2e-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
  PACS_LOG_LEVEL: 'warn',
  PACS_TRUST_PROXY: 'true',
  PACS_LOGIN_RATE_PER_MINUTE: '1000',
  PACS_RECONCILE_INTERVAL_SECONDS: '0',
  // Admins sign in with a password alone unless the test is about the second factor.
  PACS_MFA_REQUIRED_ROLES: process.env.PACS_E2E_MFA_REQUIRED_ROLES ?? 'none',
});
let app = await buildApp(config);
await app.listen({ host: '127.0.0.1', port: 0 });
let syncChild = null;
if (syncEnabled) syncChild = await startSync();
const apiPort = app.server.address().port;
const api = { host: '127.0.0.1', port: apiPort };
// {"useWebRoot": dir} switches the gateway to another build (the update-prompt e2e test).
let webRoot = process.env.PACS_WEB_DIST ?? path.join(root, 'web', 'dist');
const gateway = await startGateway({
  port: gatewayPort,
  host: '127.0.0.1',
  webRoot: () => webRoot,
  // Another app served in our place (the OHIF interop test) may need its own static headers.
  ...(process.env.PACS_E2E_SECURITY_HEADERS ? { securityHeadersFile: process.env.PACS_E2E_SECURITY_HEADERS } : {}),
  upstreams: [
    ['/api', api],
    ['/health', api],
    ['/dicom-web', api],
    ['/fhir', api],
    ...(syncEnabled ? [['/sync', { host: '127.0.0.1', port: syncPort }]] : []),
  ],
});
const url = `http://127.0.0.1:${gateway.address().port}`;
// {"network": "down" | "up"}: the device loses the server (browsers that cannot be set offline by
// their driver, i.e. WebKit): the gateway stops listening and cuts its open connections, so every
// request and WebSocket of the page fails as with no network; "up" listens on the same port again.
const gatewaySockets = new Set();
gateway.on('connection', (socket) => {
  gatewaySockets.add(socket);
  socket.once('close', () => gatewaySockets.delete(socket));
});
async function setNetwork(state) {
  if (state === 'down' && gateway.listening) {
    const closed = new Promise((resolve) => gateway.close(resolve));
    for (const socket of gatewaySockets) socket.destroy();
    await closed;
  } else if (state === 'up' && !gateway.listening) {
    await new Promise((resolve, reject) => {
      gateway.once('error', reject);
      gateway.listen(gatewayPort, '127.0.0.1', () => {
        gateway.off('error', reject);
        resolve();
      });
    });
  }
  return { listening: gateway.listening };
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  if (gateway.listening) gateway.close();
  await stopSync(false).catch(() => undefined);
  await app.close().catch(() => undefined);
  await orthanc?.stop().catch(() => undefined);
  await idp?.close().catch(() => undefined);
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
    } else if (command.seedBulk) {
      // Benchmarks: thousands of arrivals in one transaction (api/bench/worklist-seed.ts), the last `hours` hours.
      const { seedStudies } = await import(path.join(root, 'api/bench/worklist-seed.ts'));
      const { count, hours } = command.seedBulk;
      await seedStudies(config.databaseUrl, count, Date.now(), (hours * 3_600_000) / count);
      result = { count };
    } else if (command.backup) {
      result = await backupDatabase();
    } else if (command.restore) {
      result = await restartServers(command.restore.file);
    } else if (command.restartServers) {
      result = await restartServers(null);
    } else if (command.restartSync) {
      if (!syncEnabled) throw new Error('start the e2e server with PACS_E2E_SYNC=1');
      await stopSync(Boolean(command.restartSync.crash));
      syncChild = await startSync();
      result = { port: syncPort };
    } else if (command.useWebRoot) {
      webRoot = command.useWebRoot;
      result = { webRoot };
    } else if (command.dicomStudy) {
      result = await storeDicomStudy(command.dicomStudy);
    } else if (command.demoStudy) {
      // One of the demo set's studies (the test kit's demo studies), as `npm run demo` would load it.
      const { demoStudySpecs } = await import(path.join(root, 'test-kit/src/demo-studies/index.ts'));
      const { index, seed = 1 } = command.demoStudy;
      const spec = demoStudySpecs(index + 1, { seed })[index];
      result = { ...(await storeDicomStudy({ spec, seed })), patientName: spec.patient.name, description: spec.description };
    } else if (command.idp) {
      if (!idp) throw new Error('start the e2e server with PACS_E2E_SSO=1');
      if (command.idp.account) idp.accounts.set(command.idp.account.sub, command.idp.account);
      if (command.idp.tamper) idp.tamper = command.idp.tamper;
      result = { issuer: idp.issuer };
    } else if (command.orthancInfo) {
      result = orthancInfo();
    } else if (command.hl7) {
      // A message as the hospital's interface engine would send it over MLLP: answered with its ACK.
      result = { ack: (await app.hl7.inbound.handle(Buffer.from(command.hl7, 'utf8'), '127.0.0.1')).toString('utf8') };
    } else if (command.deadResult) {
      // A result the hospital's system refused for good, as the dispatcher leaves it (admin view test).
      const row = await app.db.models.Outbox.create({
        destination: 'RIS',
        patientKey: `|${command.deadResult.patientId}`,
        reportId: '00000000-0000-4000-8000-000000000001',
        controlId: `E2E${Date.now()}`,
        messageType: 'ORU^R01',
        text: 'MSH|^~\\&|PACS|RAD|RIS|HOSP|20261203120000||ORU^R01|E2E|P|2.5.1',
        status: 'dead',
        attempts: 3,
        ackCode: 'AR',
        lastError: 'AR: unknown patient',
        nextAttemptAt: new Date(),
      });
      result = { id: row.get('id') };
    } else if (command.network) {
      result = await setNetwork(command.network);
    } else if (command.ingestStudy) {
      result = await ingestStudy(command.ingestStudy.studyInstanceUid);
    }
    process.stdout.write(`DONE ${command.id} ${JSON.stringify(result ?? null)}\n`);
  } catch (error) {
    process.stdout.write(`DONE ${command.id} ${JSON.stringify({ error: String(error?.message ?? error) })}\n`);
  }
});
process.stdin.on('end', stop);

async function storeDicomStudy({ spec, seed = 1 }) {
  if (!orthanc) throw new Error('start the e2e server with PACS_E2E_ORTHANC=1');
  const { generateStudy } = await import(path.join(root, 'test-kit/src/demo-studies/index.ts'));
  const { storeFiles } = await import(path.join(root, 'test-kit/src/orthanc/index.ts'));
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

/** Orthanc's address and credentials, for tests that upload files over REST or open Orthanc's own viewer (loopback only). */
function orthancInfo() {
  if (!orthanc) throw new Error('start the e2e server with PACS_E2E_ORTHANC=1');
  return {
    httpUrl: orthanc.httpUrl,
    username: orthanc.username,
    password: orthanc.password,
    dicomPort: orthanc.dicomPort,
    aet: orthanc.aet,
  };
}

/** Ingests a study already in Orthanc (stored by the test itself) and answers the API's study id. */
async function ingestStudy(studyInstanceUid) {
  if (!orthanc) throw new Error('start the e2e server with PACS_E2E_ORTHANC=1');
  const lookup = await orthanc.request('/tools/lookup', { method: 'POST', body: studyInstanceUid });
  const found = (await lookup.json()).find((r) => r.Type === 'Study');
  if (!found) throw new Error(`study ${studyInstanceUid} not found in Orthanc`);
  await app.ingestion.ingestor.ingest(found.ID, 'manual');
  const row = await app.db.models.Study.findOne({ where: { studyInstanceUid }, raw: true });
  if (!row) throw new Error('study not ingested');
  return { id: row.id, orthancId: found.ID };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** SQLite's online backup (`VACUUM INTO`): one consistent file of the API's and the sync-server's tables, taken while both write. */
async function backupDatabase() {
  if (app.db.sequelize.getDialect() !== 'sqlite') throw new Error('backup: the e2e system runs on SQLite');
  const file = path.join(dataDir, `backup-${Date.now()}.sqlite`);
  await app.db.sequelize.query(`VACUUM INTO '${file}'`);
  return { file };
}

/**
 * The restore procedure of DEPLOYMENT.md on the e2e system: stop the API and the sync-server, put
 * the backup in place of the database, renew the database epoch, start both again (same ports).
 */
/** The API and the sync-server stopped and started again (same ports); with a backup file, DEPLOYMENT.md's restore in between (backup in place, afterRestore). */
async function restartServers(backupFile) {
  if (syncEnabled) await stopSync(false);
  await app.close();
  if (backupFile) {
    const database = config.databaseUrl.replace(/^sqlite:/, '');
    for (const suffix of ['-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
    copyFileSync(backupFile, database);
  }
  app = await buildApp(config);
  let epoch = null;
  if (backupFile) {
    const { afterRestore } = await import(path.join(root, 'api/src/db/after-restore.ts'));
    epoch = (await afterRestore(app.db.models)).epoch;
  }
  await app.listen({ host: '127.0.0.1', port: apiPort });
  if (syncEnabled) syncChild = await startSync();
  return { epoch };
}

/** The real sync-server on the API's database; resolves once it listens. */
function startSync() {
  // One process (not the tsx CLI, which forks a child a SIGKILL would orphan).
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: path.join(root, 'sync-server'),
    env: {
      ...process.env,
      ...syncSecrets,
      PACS_ENV: 'test',
      PACS_SYNC_HOST: '127.0.0.1',
      PACS_SYNC_PORT: String(syncPort),
      DATABASE_URL: config.databaseUrl,
      PACS_LOG_LEVEL: 'info',
      // Browser tests and benchmarks type fast and open several tabs per user.
      PACS_SYNC_MAX_MESSAGES_PER_SECOND: '5000',
      PACS_SYNC_MAX_CONNECTIONS_PER_USER: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`sync-server did not start: ${output.slice(-2000)}`)), 60_000);
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`sync-server exited (${code}): ${output.slice(-2000)}`));
    };
    child.once('exit', onExit);
    child.stderr.on('data', (chunk) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    child.stdout.on('data', (chunk) => {
      output = (output + chunk.toString()).slice(-4000);
      if (output.includes('"msg":"listening"')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve(child);
      }
    });
  });
}

function stopSync(crash) {
  const child = syncChild;
  syncChild = null;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(crash ? 'SIGKILL' : 'SIGTERM');
  });
}

process.stdout.write(`READY ${JSON.stringify({ url, apiPort, dataDir })}\n`);
