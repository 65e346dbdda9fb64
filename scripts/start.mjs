/**
 * `npm start`: the whole system on one origin (http://localhost:8080 unless PACS_HTTP_PORT),
 * all data under PACS_DATA_DIR (default ./data). Development secrets are generated once into
 * the data directory and handed to the services through their environment. The services run
 * under a supervisor: one that crashes is started again while the others keep serving; Ctrl-C,
 * SIGTERM or a failure of this process (the gateway) stops them all.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureDebianPackages, ensurePnpm, installNodeModules, log, ROOT, run } from './bootstrap.mjs';
import { prepareDataDir } from './data-dir.mjs';
import { serviceUpstreams, startGateway } from './gateway.mjs';
import { createSupervisor, stopServicesOnExit } from './supervisor.mjs';

const httpPort = Number(process.env.PACS_HTTP_PORT ?? 8080);
const httpHost = process.env.PACS_HTTP_HOST ?? '127.0.0.1';
const apiPort = Number(process.env.PACS_API_PORT ?? 3000);
const syncPort = Number(process.env.PACS_SYNC_PORT ?? 1234);
const orthancHttpPort = Number(process.env.PACS_ORTHANC_HTTP_PORT ?? 8042);
const dicomPort = Number(process.env.PACS_DICOM_PORT ?? 4242);
const hl7Port = Number(process.env.PACS_HL7_PORT ?? 2575);
const DEMO_STUDIES = 8;
const dataDir = path.resolve(process.env.PACS_DATA_DIR ?? path.join(ROOT, 'data'));

/** Random per installation, kept in the data dir (0600); missing keys are added on upgrade. */
export function developmentSecrets(dataDir) {
  const file = path.join(dataDir, 'dev-secrets.json');
  const secrets = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const secret = () => randomBytes(36).toString('base64url');
  let changed = false;
  for (const key of ['jwtSecret', 'orthancPassword', 'webhookSecret', 'documentTokenSecret', 'syncServiceToken', 'mfaSecretKey']) {
    if (!secrets[key]) {
      secrets[key] = secret();
      changed = true;
    }
  }
  if (changed) writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/**
 * One set of settings, each service reading the variables it knows (DEPLOYMENT.md). Exported for
 * the soak benchmark, which starts the same system on its own ports.
 */
export function sharedEnvironment({ dataDir, secrets, apiPort, syncPort, orthancHttpPort, dicomPort }) {
  return {
    PACS_DATA_DIR: dataDir,
    PACS_ORTHANC_HTTP_PORT: String(orthancHttpPort),
    PACS_DICOM_PORT: String(dicomPort),
    // Written by the API (scheduled orders), read by Orthanc's worklist plugin (modalities' C-FIND).
    PACS_MWL_DIR: process.env.PACS_MWL_DIR ?? path.join(dataDir, 'worklists'),
    PACS_ORTHANC_USER: 'pacs-api',
    PACS_ORTHANC_PASSWORD: process.env.PACS_ORTHANC_PASSWORD ?? secrets.orthancPassword,
    PACS_WEBHOOK_SECRET: process.env.PACS_WEBHOOK_SECRET ?? secrets.webhookSecret,
    PACS_WEBHOOK_URL: `http://127.0.0.1:${apiPort}/api/ingest/orthanc`,
    PACS_ORTHANC_URL: `http://127.0.0.1:${orthancHttpPort}`,
    PACS_DOCUMENT_TOKEN_SECRET: process.env.PACS_DOCUMENT_TOKEN_SECRET ?? secrets.documentTokenSecret,
    PACS_SYNC_SERVICE_TOKEN: process.env.PACS_SYNC_SERVICE_TOKEN ?? secrets.syncServiceToken,
    PACS_SYNC_URL: `http://127.0.0.1:${syncPort}`,
    PACS_MFA_SECRET_KEY: process.env.PACS_MFA_SECRET_KEY ?? secrets.mfaSecretKey,
  };
}

/** The PWA is built once, and again whenever its sources are newer than the build. */
function buildWebIfStale(pnpm) {
  const built = path.join(ROOT, 'web', 'dist', 'index.html');
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const full = path.join(dir, entry.name);
      return Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
    }, 0);
  const sources = Math.max(newest(path.join(ROOT, 'web', 'src')), newest(path.join(ROOT, 'shared', 'src')));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  log('building the web app');
  if (run(pnpm, ['--filter', '@pacs/web', 'run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] }) !== 0)
    throw new Error('web build failed');
}

/**
 * True once `url` answers 2xx (a service that crashes meanwhile is restarted and may still make
 * it); false if the system is stopping.
 */
export async function waitForHealth(supervisor, url, deadlineMs, headers = {}) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (supervisor.stopping) return false;
    try {
      const response = await fetch(url, { headers });
      if (response.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not become ready in ${deadlineMs / 1000} s`);
}

export async function start() {
  const pnpm = ensurePnpm();
  installNodeModules(pnpm);
  ensureDebianPackages(['orthanc', 'orthanc-dicomweb', 'orthanc-python', 'orthanc-gdcm'], 'Orthanc, the image archive');
  ensureDebianPackages(['fonts-droid-fallback'], 'CJK glyphs in report PDFs');
  // Orthanc's index in a PostgreSQL database of the operator's (PACS_ORTHANC_INDEX_URL, DEPLOYMENT.md).
  if (process.env.PACS_ORTHANC_INDEX_URL) ensureDebianPackages(['orthanc-postgresql'], "Orthanc's index in PostgreSQL");
  const storageElsewhere = process.env.PACS_ORTHANC_STORAGE_DIR ? [path.resolve(process.env.PACS_ORTHANC_STORAGE_DIR)] : [];
  prepareDataDir(dataDir, storageElsewhere);
  // A restore refuses to run under a live system (backup/src/installation.ts).
  const pidFile = path.join(dataDir, 'pacs.pid');
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  process.on('exit', () => rmSync(pidFile, { force: true }));
  const secrets = developmentSecrets(dataDir);
  const firstRun = !existsSync(path.join(dataDir, 'demo-studies-loaded'));

  const shared = sharedEnvironment({ dataDir, secrets, apiPort, syncPort, orthancHttpPort, dicomPort });

  // Patient data and secrets: the umask 077 the services get makes every file and directory they
  // create (database, Orthanc storage, logs) owner-only; this process keeps its own for web/dist.
  const supervisor = createSupervisor({ log, childUmask: 0o077 });
  const shutdown = stopServicesOnExit(supervisor, log);
  try {
    await startServices({ supervisor, shutdown, shared, secrets, firstRun, pnpm });
  } catch (error) {
    shutdown(`could not start: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function startServices({ supervisor, shutdown, shared, secrets, firstRun, pnpm }) {
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  const startService = (name, args, env, cwd = ROOT) =>
    supervisor.start(name, tsx, args, { cwd, env: { ...process.env, ...env }, stdio: 'inherit' });
  startService('orthanc', [path.join('orthanc', 'run.ts')], { ...shared, TCP_NODELAY: '1' });
  if (
    !(await waitForHealth(supervisor, `http://127.0.0.1:${orthancHttpPort}/system`, 30_000, {
      authorization: `Basic ${Buffer.from(`pacs-api:${shared.PACS_ORTHANC_PASSWORD}`).toString('base64')}`,
    }))
  )
    return;

  startService(
    'api',
    ['src/server.ts'],
    {
      ...shared,
      PACS_API_HOST: '127.0.0.1',
      PACS_API_PORT: String(apiPort),
      PACS_JWT_SECRET: process.env.PACS_JWT_SECRET ?? secrets.jwtSecret,
      PACS_TRUST_PROXY: 'true',
      PACS_HL7_PORT: String(hl7Port),
    },
    path.join(ROOT, 'api'),
  );
  startService(
    'sync-server',
    ['src/server.ts'],
    { ...shared, PACS_SYNC_HOST: '127.0.0.1', PACS_SYNC_PORT: String(syncPort) },
    path.join(ROOT, 'sync-server'),
  );
  if (!(await waitForHealth(supervisor, `http://127.0.0.1:${apiPort}/health/live`, 60_000))) return;
  if (!(await waitForHealth(supervisor, `http://127.0.0.1:${syncPort}/health`, 60_000))) return;

  if (firstRun) {
    log(`loading ${DEMO_STUDIES} demo studies into Orthanc (first run)`);
    const target = `http://pacs-api:${encodeURIComponent(shared.PACS_ORTHANC_PASSWORD)}@127.0.0.1:${orthancHttpPort}`;
    const status = run(tsx, ['src/demo-studies/cli.ts', '--orthanc', target, '--count', String(DEMO_STUDIES), '--today', 'now'], {
      cwd: path.join(ROOT, 'test-kit'),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (status === 0) writeFileSync(path.join(dataDir, 'demo-studies-loaded'), `${new Date().toISOString()}\n`, { mode: 0o600 });
    else log('demo studies could not be loaded; the system runs without them');
  }

  buildWebIfStale(pnpm);
  const api = { host: '127.0.0.1', port: apiPort };
  const gateway = await startGateway({
    port: httpPort,
    host: httpHost,
    webRoot: path.join(ROOT, 'web', 'dist'),
    upstreams: serviceUpstreams(api, { host: '127.0.0.1', port: syncPort }),
  });
  // Without the front door the system is unreachable: stop everything rather than run on headless.
  gateway.on('error', (error) => shutdown(`the gateway failed (${error.code ?? error.name})`));
  const shown = httpHost === '0.0.0.0' || httpHost === '127.0.0.1' ? 'localhost' : httpHost;
  log(`PACS is up at http://${shown}:${httpPort}  (API docs: http://${shown}:${httpPort}/api/docs/)`);
  log(`modalities send to AE title ${process.env.PACS_DICOM_AET ?? 'ORTHANC'} on port ${dicomPort}`);
  log(`HL7 v2 orders and patient updates over MLLP on port ${hl7Port} (from ${process.env.PACS_HL7_ALLOWED_SENDERS ?? 'loopback'})`);
  log(
    'development logins: admin@pacs.local / pacs-admin-dev-password (sets up an authenticator app at the first sign-in), radiologist@pacs.local / pacs-radiologist-dev-password',
  );
  log(`data: ${dataDir}   stop with Ctrl-C`);
}
