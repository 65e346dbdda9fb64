/**
 * Issue "Reporting workflow…" benchmark: finalize p95 and PDF export p95 for a two-page report
 * with an addendum, at 10 concurrent requests. The API and the real sync-server run in their own
 * processes on one SQLite file (or --database postgres://…); requests come from this process.
 * Goal: finalize < 100 ms, PDF < 300 ms.
 *
 * Every finalize signs a different report (a report is finalized once); each was seeded from a
 * template whose sections hold two pages of text, and signed with the state vector + snapshot the
 * sync-server reports. The PDF requests all export one final report with a signed addendum.
 *
 * Run: pnpm --filter @pacs/api exec tsx bench/reports.ts [--reports 200] [--pdfs 200] [--concurrency 10] [--cpu-prof DIR]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import * as Y from 'yjs';
import { DEV_PASSWORDS } from '../src/config';
import { connectDatabase } from '../src/db/connect';
import { migrate } from '../src/db/migrate';
import { defineModels } from '../src/db/models';
import { DEMO_ATTENDING_EMAIL } from '../src/db/seed';
import { seedStudy } from '../test/support/studies';
import { DOCUMENT_SECRET, freePort, SERVICE_TOKEN, serverState, startSyncServer } from '../test/support/sync-server';
import { benchApiEnv, machine } from './support';

const API_DIR = path.resolve(import.meta.dirname, '..');

/** Like support.startServer, but the API's log can be kept (--log FILE) to see why requests fail. */
async function startApi(env: Record<string, string>, port: number) {
  const logFd = values.log ? openSync(values.log, 'w') : 'ignore';
  const child = spawn(process.execPath, [...profileFlags('api'), '--import', 'tsx', 'src/server.ts'], {
    cwd: API_DIR,
    env: {
      ...process.env,
      PACS_API_HOST: '127.0.0.1',
      PACS_API_PORT: String(port),
      PACS_LOG_LEVEL: 'info',
      PACS_MFA_REQUIRED_ROLES: 'none',
      ...env,
    },
    stdio: ['ignore', logFd, 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`API exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('API did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const { values } = parseArgs({
  options: {
    reports: { type: 'string', default: '200' },
    pdfs: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '10' },
    database: { type: 'string' },
    log: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
/** `--cpu-prof DIR`: V8 CPU profiles of the API and the sync-server (DIR/api, DIR/sync; one a thread), written when they stop. */
const profileFlags = (name: string) => (values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.join(values['cpu-prof'], name)}`] : []);
const REPORTS = Number(values.reports);
const PDFS = Number(values.pdfs);
const CONCURRENCY = Number(values.concurrency);

const LOREM =
  'The liver is normal in size and attenuation without focal lesion. The gallbladder, pancreas, spleen and adrenal glands are unremarkable. ' +
  'No hydronephrosis. No free fluid or free air. Vascular structures are patent. Ünïcödé: Müller, Ελένη, Иванов.';
const twoPages = (n: number) => Array.from({ length: n }, (_, i) => `${i + 1}. ${LOREM}`).join('\n');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function run(count: number, concurrency: number, one: (i: number) => Promise<Response>) {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const t0 = performance.now();
        const response = await one(i);
        if (response.ok) await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (!response.ok) {
          failures += 1;
          if (failures <= 3)
            console.error(
              `request ${i}: ${response.status} ${await response
                .clone()
                .text()
                .catch(() => '')}`,
            );
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    n: latencies.length,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    failures,
  };
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-reports-'));
  const databaseUrl = values.database ?? `sqlite:${path.join(dir, 'pacs.sqlite')}`;
  const sequelize = await connectDatabase(databaseUrl);
  await migrate(sequelize);
  const models = defineModels(sequelize);
  const fake = { db: { models, sequelize } } as unknown as FastifyInstance;
  const studies: string[] = [];
  for (let i = 0; i < REPORTS + 1; i += 1) studies.push((await seedStudy(fake, { modalities: ['CT'], patientName: `Müller^Zoë${i}` })).id);
  await sequelize.close();

  const syncPort = await freePort();
  const apiPort = await freePort();
  const sync = await startSyncServer(databaseUrl, syncPort, profileFlags('sync'));
  const api = await startApi(
    benchApiEnv(dir, databaseUrl, { url: sync.url, serviceToken: SERVICE_TOKEN, documentSecret: DOCUMENT_SECRET }),
    apiPort,
  );
  try {
    const login = async (email: string, password: string) => {
      const r = await fetch(`${api.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      return ((await r.json()) as { accessToken: string }).accessToken;
    };
    const adminToken = await login('admin@pacs.local', DEV_PASSWORDS.admin);
    const token = await login(DEMO_ATTENDING_EMAIL, DEV_PASSWORDS.radiologist);
    const call = (method: string, url: string, body?: unknown, bearer = token) =>
      fetch(`${api.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    // A template whose seeded text fills two pages.
    const templateResponse = await call(
      'POST',
      '/api/templates',
      {
        name: 'Bench two pages',
        modalities: ['CT'],
        sections: [
          { key: 'clinical-history', title: 'Clinical history', defaultText: 'Abdominal pain.' },
          { key: 'technique', title: 'Technique', defaultText: 'Portal venous phase.' },
          { key: 'comparison', title: 'Comparison', defaultText: 'None.' },
          { key: 'findings', title: 'Findings', defaultText: twoPages(22) },
          { key: 'impression', title: 'Impression', defaultText: twoPages(4) },
        ],
      },
      adminToken,
    );
    if (templateResponse.status !== 201) throw new Error(`template: ${templateResponse.status} ${await templateResponse.text()}`);
    const template = (await templateResponse.json()) as { id: string };

    const reports: { id: string; body: { stateVector: string; snapshot: string } }[] = [];
    for (const studyId of studies) {
      const report = (await (await call('POST', `/api/studies/${studyId}/report`, { templateId: template.id })).json()) as { id: string };
      const doc = new Y.Doc();
      Y.applyUpdate(doc, Buffer.from((await serverState(sync.url, `report:${report.id}`)).update, 'base64'));
      reports.push({
        id: report.id,
        body: {
          stateVector: Buffer.from(Y.encodeStateVector(doc)).toString('base64'),
          snapshot: Buffer.from(Y.encodeSnapshot(Y.snapshot(doc))).toString('base64'),
        },
      });
      doc.destroy();
    }
    const [pdfReport, ...toFinalize] = reports;

    // Warm-up outside the measurement: one finalize, then the addended report for the PDFs.
    await call('POST', `/api/reports/${pdfReport!.id}/finalize`, pdfReport!.body);
    const addendum = (await (await call('POST', `/api/reports/${pdfReport!.id}/addenda`, { text: twoPages(3) })).json()) as { id: string };
    const addDoc = new Y.Doc();
    Y.applyUpdate(addDoc, Buffer.from((await serverState(sync.url, `report:${addendum.id}`)).update, 'base64'));
    const signed = await call('POST', `/api/reports/${addendum.id}/finalize`, {
      stateVector: Buffer.from(Y.encodeStateVector(addDoc)).toString('base64'),
      snapshot: Buffer.from(Y.encodeSnapshot(Y.snapshot(addDoc))).toString('base64'),
    });
    if (!signed.ok) throw new Error(`addendum finalize: ${signed.status} ${await signed.text()}`);
    const sample = Buffer.from(await (await call('GET', `/api/reports/${pdfReport!.id}/pdf`)).arrayBuffer());
    const samplePath = path.join(dir, 'sample.pdf');
    writeFileSync(samplePath, sample);
    const pages = /Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [samplePath], { encoding: 'utf8' }))?.[1] ?? '?';

    const finalize = await run(toFinalize.length, CONCURRENCY, (i) =>
      call('POST', `/api/reports/${toFinalize[i]!.id}/finalize`, toFinalize[i]!.body),
    );
    const pdf = await run(PDFS, CONCURRENCY, () => call('GET', `/api/reports/${pdfReport!.id}/pdf`));

    const fmt = (n: number) => n.toFixed(1);
    const row = (name: string, r: Awaited<ReturnType<typeof run>>, goal: string) =>
      `| ${name} | ${r.n} | ${CONCURRENCY} | ${r.rps.toFixed(1)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${r.failures} | ${goal} |`;
    console.log(`\n### Reporting: finalize and PDF export (${new Date().toISOString().slice(0, 10)})\n`);
    console.log(`Machine: ${machine()}. Database: ${databaseUrl.split(':')[0]}. API and sync-server each in their own process.`);
    console.log(
      `Report: five sections, ${pages}-page PDF including one signed addendum (${sample.length} bytes, DejaVu fonts embedded).\n`,
    );
    console.log('| request | count | concurrency | req/s | p50 ms | p95 ms | p99 ms | failures | goal p95 |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    console.log(row('POST /api/reports/:id/finalize (lock + convert + hash + store)', finalize, '< 100 ms'));
    console.log(row('GET /api/reports/:id/pdf (verify hash + render)', pdf, '< 300 ms'));
  } finally {
    if (values.log) writeFileSync(`${values.log}.sync`, sync.output.join(''));
    await api.stop();
    await sync.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
