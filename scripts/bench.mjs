/**
 * `npm run bench [name…] [--option value…]`: the benchmark scripts (all of them without a name);
 * options after the names go to each script (`npm run bench -- orthanc-side-by-side --studies 300`).
 * Figures go into BENCHMARKS.md by hand, with the machine. Browser benchmarks use the built app
 * (web/dist, or PACS_WEB_DIST); those that start Orthanc run in a private network namespace like
 * the test suite, because Orthanc 1.10 listens on every interface.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ensureDebianPackages, ensurePnpm, installNodeModules, log, ROOT, run } from './bootstrap.mjs';
import { canUseNetns, NETNS_SETUP } from './test.mjs';

const BENCHMARKS = {
  'auth-audit': { dir: 'api', script: 'bench/auth-audit.ts' },
  worklist: { dir: 'api', script: 'bench/worklist.ts' },
  'device-feed': { dir: 'api', script: 'bench/device-feed.ts' },
  'orthanc-side-by-side': {
    dir: 'api',
    script: 'bench/orthanc-side-by-side.ts',
    netns: true,
    // Orthanc with its index in SQLite and in PostgreSQL, fed by storescu.
    packages: ['orthanc', 'orthanc-dicomweb', 'orthanc-python', 'orthanc-gdcm', 'orthanc-postgresql', 'postgresql', 'dcmtk', 'iproute2'],
  },
  reports: { dir: 'api', script: 'bench/reports.ts' },
  'report-diff': { dir: 'api', script: 'bench/report-diff.ts' },
  'hl7-orders': { dir: 'api', script: 'bench/hl7-orders.ts' },
  'results-out': { dir: 'api', script: 'bench/results-out.ts' },
  'audit-export': { dir: 'api', script: 'bench/audit-export.ts' },
  fhir: { dir: 'api', script: 'bench/fhir.ts' },
  'sync-propagation': { dir: 'sync-server', script: 'bench/propagation.ts' },
  'sync-scale-out': { dir: 'sync-server', script: 'bench/scale-out.ts' },
  'sync-memory': { dir: 'sync-server', script: 'bench/memory.ts' },
  soak: {
    dir: 'system-tests',
    script: 'bench/soak.ts',
    netns: true,
    // The whole system (Orthanc, API, sync-server, gateway) fed by storescu, on SQLite or PostgreSQL, with Redis for two instances.
    packages: ['orthanc', 'orthanc-dicomweb', 'orthanc-python', 'orthanc-gdcm', 'postgresql', 'redis-server', 'dcmtk', 'iproute2'],
  },
  'web-worklist': { dir: 'web', script: 'bench/worklist-bench.ts', web: true, netns: true },
  lighthouse: { dir: 'web', script: 'bench/lighthouse.ts', web: true, netns: true },
  viewer: { dir: 'web', script: 'bench/viewer-bench.ts', web: true, netns: true },
  editor: { dir: 'web', script: 'bench/editor-bench.ts', web: true, netns: true },
};

export async function bench(args) {
  const pnpm = ensurePnpm();
  installNodeModules(pnpm);
  const firstOption = args.findIndex((arg) => arg.startsWith('--'));
  const named = firstOption < 0 ? args : args.slice(0, firstOption);
  const options = firstOption < 0 ? [] : args.slice(firstOption);
  const names = named.length > 0 ? named : Object.keys(BENCHMARKS);
  const unknown = names.filter((name) => !BENCHMARKS[name]);
  if (unknown.length > 0) {
    log(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    return 2;
  }
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  const dist = process.env.PACS_WEB_DIST ?? path.join(ROOT, 'web', 'dist');
  let status = 0;
  for (const name of names) {
    const entry = BENCHMARKS[name];
    if (entry.web && !existsSync(path.join(dist, 'index.html'))) {
      log(`building the web app for ${name}`);
      status ||= run(pnpm, ['--filter', '@pacs/web', 'run', 'build']);
    }
    if (entry.packages) ensureDebianPackages(entry.packages, `benchmark ${name}`);
    log(`── benchmark ${name}`);
    const cwd = path.join(ROOT, entry.dir);
    status ||=
      entry.netns && canUseNetns()
        ? run('unshare', ['--net', '--', 'sh', '-c', NETNS_SETUP, tsx, entry.script, ...options], { cwd })
        : run(tsx, [entry.script, ...options], { cwd });
  }
  return status;
}
