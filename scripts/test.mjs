/**
 * `npm test`: installs what the suite needs, then lint, typecheck and every package's tests —
 * the API's on SQLite and again on a real PostgreSQL. As root with `unshare`, the test phase
 * runs in a private network namespace with only loopback, so servers the tests start (Orthanc
 * listens on all interfaces) are reachable from nowhere else. Ends with `N passed, N failed`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureOhifDist } from '../web/e2e/ohif-dist.mjs';
import { ensureDebianPackages, ensurePnpm, installNodeModules, isRoot, log, ROOT, run } from './bootstrap.mjs';
import { startPostgres } from './postgres.mjs';

// Real parts for the tests: PostgreSQL, Orthanc with its DICOMweb and Python plugins, DCMTK
// (storescu, dcmdump, dcm2pnm), Chromium for browser tests, nginx (config test), poppler (PDF text),
// Redis (sync-server scale-out), Orthanc's own Web Viewer (the viewer's peer in benchmarks), a
// CJK font (report PDFs), and GDCM and OpenJPEG's tools (independent JPEG 2000 / HTJ2K references
// for the viewer's corpus check, which DCMTK cannot decode).
const TEST_PACKAGES = [
  'postgresql',
  'iproute2',
  'orthanc',
  'orthanc-dicomweb',
  'orthanc-python',
  'orthanc-gdcm',
  // Orthanc's index in PostgreSQL (the compose stack's setting, tested against a real Orthanc).
  'orthanc-postgresql',
  'dcmtk',
  'chromium',
  'nginx',
  'poppler-utils',
  'redis-server',
  'orthanc-webviewer',
  'fonts-droid-fallback',
  'libgdcm-tools',
  'libopenjp2-tools',
  // The audit repository of the ATNA export tests (syslog over TLS) and the schema check of its messages.
  'rsyslog',
  'rsyslog-gnutls',
  'libxml2-utils',
  // Structural check of the archival (PDF/A) report PDFs.
  'qpdf',
  // WebKit for the tablet-path e2e file (web/e2e/webkit.e2e.ts): WebKitGTK's WebDriver + MiniBrowser on Xvfb.
  'webkit2gtk-driver',
  'xvfb',
];

/**
 * Inside the namespace: loopback, plus a veth pair that leads nowhere. Chromium reports
 * `navigator.onLine = false` when loopback is the only interface, which would make the PWA think
 * it is offline; the pair (TEST-NET-1 address, no route out of the namespace) fixes that.
 */
export const NETNS_SETUP = [
  'ip link set lo up',
  '{ ip link add pacs0 type veth peer name pacs1 && ip addr add 192.0.2.1/32 dev pacs0 && ip link set pacs0 up && ip link set pacs1 up; } 2>/dev/null || true',
  'exec "$0" "$@"',
].join(' && ');

export function canUseNetns() {
  if (!isRoot() || process.env.PACS_TEST_NETNS === '0') return false;
  return spawnSync('unshare', ['--net', 'true']).status === 0;
}

export async function test(args) {
  if (!args.includes('--inside')) {
    const pnpm = ensurePnpm();
    installNodeModules(pnpm);
    ensureDebianPackages(TEST_PACKAGES, 'the test suite');
    // The OHIF interop e2e needs OHIF's prebuilt viewer from the npm registry, which the private
    // network namespace cannot reach: fetch it (once, cached) now. Failing here only fails that test.
    try {
      ensureOhifDist();
    } catch (error) {
      log(error.message);
    }
    if (canUseNetns()) {
      log('running the suite in a private network namespace (loopback only)');
      return run(
        'unshare',
        ['--net', '--', 'sh', '-c', NETNS_SETUP, process.execPath, path.join(ROOT, 'scripts', 'pacs.mjs'), 'test', '--inside'],
        {
          env: { ...process.env, PACS_PNPM: pnpm },
        },
      );
    }
    process.env.PACS_PNPM = pnpm;
  }
  return runSuite();
}

async function runSuite() {
  const pnpm = process.env.PACS_PNPM ?? 'pnpm';
  const results = [];
  const reports = mkdtempSync(path.join(os.tmpdir(), 'pacs-test-reports-'));
  const check = (name, command, commandArgs) => {
    log(`── ${name}`);
    const ok = run(command, commandArgs) === 0;
    results.push({ name, passed: ok ? 1 : 0, failed: ok ? 0 : 1 });
  };
  const vitest = (name, pkg, env = {}, extraArgs = []) => {
    results.push(runVitest(pnpm, reports, name, pkg, env, extraArgs));
  };

  check('lint (biome)', pnpm, ['exec', 'biome', 'check', '.']);
  check('typecheck (tsc, every package)', pnpm, ['-r', '--workspace-concurrency=1', 'run', 'typecheck']);

  let postgres = null;
  try {
    postgres = await startPostgres();
    log(`PostgreSQL for tests at ${postgres.url}`);
  } catch (error) {
    log(`could not start PostgreSQL: ${error.message}`);
    results.push({ name: 'start PostgreSQL', passed: 0, failed: 1 });
  }
  const pgEnv = postgres ? { TEST_POSTGRES_URL: postgres.url } : {};
  try {
    vitest('shared', '@pacs/shared');
    vitest('server-kit', '@pacs/server-kit');
    vitest('api on SQLite', '@pacs/api');
    // Again on PostgreSQL, without the files about something other than the database (Orthanc
    // alone, config, docs, Swagger UI, SQLite's file modes, MLLP framing, the login back-off in
    // memory, PDF text, DICOMweb path parsing): they already ran above.
    const databaseFree = [
      'orthanc-*',
      'config',
      'docs',
      'production-docs',
      'swagger-ui',
      'data-file-modes',
      'hl7-listener',
      'auth-login-throttle',
      'pdf-text',
      'dicomweb-route-parser',
    ].flatMap((name) => ['--exclude', `test/${name}.test.ts`]);
    if (postgres) vitest('api on PostgreSQL', '@pacs/api', { ...pgEnv, PACS_TEST_DIALECT: 'postgres' }, databaseFree);
    vitest('sync-server', '@pacs/sync-server', pgEnv);
    vitest('backup and restore on SQLite', '@pacs/backup');
    // Again on PostgreSQL, the drill alone: the refusals are checked before any database is touched.
    if (postgres)
      vitest('backup and restore on PostgreSQL', '@pacs/backup', { ...pgEnv, PACS_TEST_DIALECT: 'postgres' }, ['test/drill.test.ts']);
    // The whole system: compose, nginx and the gateway in front, Orthanc's configuration, the
    // supervisor, SQL Server DDL.
    vitest('system', '@pacs/system-tests');
    vitest('web', '@pacs/web');
    // End to end in Debian's Chromium against the real API and gateway, on the built app.
    check('web build (vite)', pnpm, ['--filter', '@pacs/web', 'run', 'build']);
    vitest('web end to end (Chromium)', '@pacs/web', {}, ['--config', 'vitest.e2e.config.ts']);
  } finally {
    postgres?.stop();
    rmSync(reports, { recursive: true, force: true });
  }

  return printSummary(results);
}

/** One package's vitest run, counted from its JSON report: `{ name, passed, failed }`. */
export function runVitest(pnpm, reports, name, pkg, env = {}, extraArgs = []) {
  log(`── ${name}`);
  const report = path.join(reports, `${name.replace(/\W+/g, '-')}.json`);
  const status = run(
    pnpm,
    ['--filter', pkg, 'exec', 'vitest', 'run', ...extraArgs, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
    { env: { ...process.env, ...env } },
  );
  if (!existsSync(report)) return { name, passed: 0, failed: 1 };
  const json = JSON.parse(readFileSync(report, 'utf8'));
  // A file that failed outside its tests (a hook, an import) counts once, even when vitest then
  // lists its tests as skipped: the corpus check once failed in its set-up with 265 tests skipped.
  const failedFiles = json.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
  ).length;
  return {
    name,
    passed: json.numPassedTests,
    failed: json.numFailedTests + failedFiles + (status !== 0 && json.numFailedTests === 0 && failedFiles === 0 ? 1 : 0),
  };
}

/** Logs each part's counts and prints the final `N passed, N failed` line; returns the exit code. */
export function printSummary(results) {
  const passed = results.reduce((sum, r) => sum + r.passed, 0);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  log('summary');
  for (const r of results) log(`  ${r.failed ? 'FAIL' : 'ok  '} ${r.name}: ${r.passed} passed, ${r.failed} failed`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}
