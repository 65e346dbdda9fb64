/**
 * Issue "Orthanc ingestion…" benchmarks 2 and 3, in one run on one machine:
 * - ingestion: N small single-instance studies C-STOREd by 4 parallel storescu senders into a real
 *   Orthanc; studies per minute until every row is in the worklist, and the latency from the
 *   stable-study webhook reaching the API to the worklist row being committed;
 * - the worklist next to Orthanc's own QIDO-RS on the same studies, same filters, 50 connections.
 * Run: pnpm --filter @pacs/api exec tsx bench/orthanc-side-by-side.ts [--studies 10000] [--duration 10]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateStudy } from '@pacs/test-kit/demo-studies';
import { startOrthanc } from '@pacs/test-kit/orthanc';
import { connectDatabase } from '../src/db/connect';
import { defineModels } from '../src/db/models';
import { type LoadResult, load, machine, startServer, table } from './support';

const { values } = parseArgs({ options: { studies: { type: 'string', default: '10000' }, duration: { type: 'string', default: '10' } } });
const count = Number(values.studies);
const duration = Number(values.duration);
const FAMILY = ['Smith', 'Müller', 'García', 'Nguyen', 'Kowalski', 'Rossi', 'Dubois', 'Johansson'];
const MODALITIES = ['CR', 'DX', 'CT', 'MR'] as const;

const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-side-'));
const apiPort = 3996;
const secret = 'bench-webhook-secret-0123456789abcdef0123';
const orthanc = await startOrthanc({ stableAge: 1, webhookUrl: `http://127.0.0.1:${apiPort}/api/ingest/orthanc`, webhookSecret: secret });
const databaseUrl = `sqlite:${path.join(dir, 'pacs.sqlite')}`;
const server = await startServer(
  {
    DATABASE_URL: databaseUrl,
    PACS_DATA_DIR: dir,
    PACS_JWT_SECRET: 'bench-secret-0123456789-0123456789-abcdef',
    PACS_ORTHANC_URL: orthanc.httpUrl,
    PACS_ORTHANC_USER: orthanc.username,
    PACS_ORTHANC_PASSWORD: orthanc.password,
    PACS_WEBHOOK_SECRET: secret,
    PACS_RECONCILE_INTERVAL_SECONDS: '3600',
  },
  apiPort,
);
try {
  // Files: one small instance per study, written once, sent by 4 storescu processes.
  const fileDir = path.join(dir, 'files');
  const senders: string[][] = [[], [], [], []];
  for (let i = 0; i < count; i++) {
    const modality = MODALITIES[i % MODALITIES.length]!;
    const study = generateStudy(
      {
        patient: { name: `${FAMILY[i % FAMILY.length]}^Patient${i}`, id: `BENCH-${i}`, birthDate: '19700101', sex: i % 2 ? 'F' : 'M' },
        studyDate: '20261101',
        studyTime: '090000',
        accessionNumber: `B${i}`,
        description: `${modality} BENCH`,
        priority: i % 20 === 0 ? 'STAT' : 'ROUTINE',
        series: [
          {
            modality,
            description: 'one',
            instances: 1,
            rows: 16,
            columns: 16,
            ...(modality === 'CT' ? { bodyPart: 'CHEST' as const } : {}),
          },
        ],
      },
      i,
    );
    const file = path.join(fileDir, `${i}.dcm`);
    if (i === 0) mkdirSync(fileDir, { recursive: true });
    writeFileSync(file, study.files[0]!);
    senders[i % 4]!.push(file);
  }
  const started = Date.now();
  await Promise.all(
    senders.map(
      (files) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn('storescu', ['-aec', orthanc.aet, '127.0.0.1', String(orthanc.dicomPort), ...files], {
            env: { ...process.env, TCP_NODELAY: '1' },
            stdio: 'ignore',
          });
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`storescu exited ${code}`))));
        }),
    ),
  );
  const stored = Date.now();
  const sequelize = await connectDatabase(databaseUrl);
  const models = defineModels(sequelize);
  for (;;) {
    const rows = await models.Study.count();
    if (rows >= count) break;
    if (Date.now() - stored > 20 * 60_000) throw new Error(`only ${rows} of ${count} rows after 20 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const allVisible = Date.now();

  // Stable webhook received (its audit row) → worklist row committed (the Import row).
  const hooks = await models.AuditLog.findAll({ where: { eventId: 'Import', action: 'E', outcome: 0 }, raw: true });
  const imports = await models.AuditLog.findAll({ where: { eventId: 'Import', action: 'C' }, raw: true });
  const hookAt = new Map<string, number>();
  for (const h of hooks) {
    const id = JSON.parse(h.details ?? '{}').orthancStudyId as string | undefined;
    if (id && !hookAt.has(id)) hookAt.set(id, new Date(h.eventDateTime).getTime());
  }
  const orthancIds = new Map((await models.Study.findAll({ attributes: ['id', 'orthancId'], raw: true })).map((s) => [s.id, s.orthancId]));
  const latencies = imports
    .map((row) => {
      const received = hookAt.get(orthancIds.get(row.objectId ?? '') ?? '');
      return received === undefined ? undefined : new Date(row.eventDateTime).getTime() - received;
    })
    .filter((v): v is number => v !== undefined && v >= 0)
    .sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  await sequelize.close();

  console.log(`\nMachine: ${machine()}`);
  console.log(`\nIngestion: ${count} single-instance studies, 4 storescu senders, StableAge 1 s`);
  console.log(
    `- C-STORE of all instances: ${((stored - started) / 1000).toFixed(1)} s (${Math.round((count / (stored - started)) * 1000)} instances/s)`,
  );
  console.log(
    `- first C-STORE to last worklist row: ${((allVisible - started) / 1000).toFixed(1)} s = ${Math.round((count / (allVisible - started)) * 60_000)} studies/min`,
  );
  console.log(
    `- webhook received → row committed (${latencies.length} studies with a webhook): p50 ${pct(50)} ms, p95 ${pct(95)} ms, p99 ${pct(99)} ms`,
  );

  const login = await fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'radiologist@pacs.local', password: 'pacs-radiologist-dev-password' }),
  });
  const { accessToken } = (await login.json()) as { accessToken: string };
  const ours = { authorization: `Bearer ${accessToken}` };
  const theirs = { authorization: orthanc.authorization, accept: 'application/dicom+json' };
  const pairs: [string, string, string][] = [
    ['first 50 studies', '/api/studies?limit=50', '/dicom-web/studies?limit=50'],
    ['modality CR', '/api/studies?modality=CR&limit=50', '/dicom-web/studies?ModalitiesInStudy=CR&limit=50'],
    ['patient name smith', '/api/studies?q=smith&limit=50', '/dicom-web/studies?PatientName=Smith*&limit=50'],
  ];
  const results: LoadResult[] = [];
  const ratios: string[] = [];
  await load('warm-up', { url: `${server.url}/api/studies?limit=50`, headers: ours, duration: 2 });
  for (const [title, apiPath, qidoPath] of pairs) {
    const a = await load(`API ${title}`, { url: `${server.url}${apiPath}`, headers: ours, duration });
    const o = await load(`Orthanc QIDO-RS ${title}`, { url: `${orthanc.httpUrl}${qidoPath}`, headers: theirs, duration });
    results.push(a, o);
    ratios.push(`| ${title} | ${(a.rps / Math.max(o.rps, 1)).toFixed(1)}× | ${(o.p95 / a.p95).toFixed(1)}× |`);
  }
  console.log(
    `\nSide by side, ${count} studies, 50 connections, ${duration} s each (the API also writes an audit row per request; Orthanc does not audit)\n`,
  );
  console.log(table(results));
  console.log(`\n| query | throughput API / Orthanc | p95 Orthanc / API |\n|---|---|---|\n${ratios.join('\n')}`);
} finally {
  await server.stop();
  await orthanc.stop();
  rmSync(dir, { recursive: true, force: true });
}
