/**
 * The API next to a real Orthanc, in one run on one machine, with Orthanc's index in its own SQLite
 * file, in PostgreSQL (Debian's orthanc-postgresql plugin, as the compose stack runs it), or both
 * one after the other on the same study files:
 * - ingestion: N small single-instance studies C-STOREd by 4 parallel storescu senders; studies per
 *   minute until every row is in the worklist, and the latency from the stable-study webhook reaching
 *   the API to the worklist row being committed;
 * - the worklist next to Orthanc's own QIDO-RS on the same studies, same filters, 50 connections;
 * - what the API's reconciler reads from Orthanc (the change feed paged from 0, the study list, a
 *   study by id at 50 connections) and a whole reconciler pass into an empty worklist.
 * The API keeps its own database in SQLite in every run: only Orthanc's index changes.
 * Run: npm run bench -- orthanc-side-by-side [--studies 10000] [--duration 10] [--qido-requests 100]
 *      [--orthanc-index sqlite|postgres|both]
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type OrthancInstance, startOrthanc } from '@pacs/test-kit/orthanc';
import pg from 'pg';
import type { PostgresIndex } from '../../orthanc/config';
import { type PostgresServer, startPostgres } from '../../scripts/postgres.mjs';
import { type LoadResult, load, machine, percentile, startServer, table } from './support';
import {
  cStore,
  reconcilerCatchUp,
  SENDERS,
  settle,
  waitForStudyRows,
  walkChangeFeed,
  webhookToRowLatencies,
  writeBenchStudies,
} from './support-orthanc';

type IndexKind = 'sqlite' | 'postgres';
const INDEX_TITLE: Record<IndexKind, string> = { sqlite: 'SQLite index', postgres: 'PostgreSQL index' };

const { values } = parseArgs({
  options: {
    studies: { type: 'string', default: '10000' },
    duration: { type: 'string', default: '10' },
    'orthanc-index': { type: 'string', default: 'both' },
    'qido-requests': { type: 'string', default: '100' },
  },
});
const count = Number(values.studies);
const duration = Number(values.duration);
const qidoRequests = Number(values['qido-requests']);
const choice = values['orthanc-index'];
if (choice !== 'sqlite' && choice !== 'postgres' && choice !== 'both') {
  console.error(`--orthanc-index: sqlite, postgres or both (not "${choice}")`);
  process.exit(2);
}
// Every one of the 50 connections sends at least one request.
if (!(qidoRequests >= 50)) {
  console.error(`--qido-requests: at least 50 (not "${values['qido-requests']}")`);
  process.exit(2);
}
const kinds: IndexKind[] = choice === 'both' ? ['sqlite', 'postgres'] : [choice];
const INDEX_DATABASE = 'orthanc_index';
const apiPort = 3996;
const secret = 'bench-webhook-secret-0123456789abcdef0123';
// Generous: a 10,000-study run takes minutes per phase on two shared cores.
const PHASE_TIMEOUT_MS = 30 * 60_000;

/** One figure of a run; `better` says which way is good, for the comparison column. */
interface Figure {
  label: string;
  value: number;
  better: 'higher' | 'lower';
}

function apiEnv(dir: string, databaseUrl: string, orthanc: OrthancInstance): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    PACS_DATA_DIR: dir,
    PACS_JWT_SECRET: 'bench-secret-0123456789-0123456789-abcdef',
    PACS_ORTHANC_URL: orthanc.httpUrl,
    PACS_ORTHANC_USER: orthanc.username,
    PACS_ORTHANC_PASSWORD: orthanc.password,
    PACS_WEBHOOK_SECRET: secret,
    // Only the catch-up phase runs the reconciler (once, at start-up); ingestion is the webhook's.
    PACS_RECONCILE_INTERVAL_SECONDS: '3600',
  };
}

async function postgresQuery(postgres: PostgresServer, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

async function orthancIndex(kind: IndexKind, postgres: PostgresServer | undefined): Promise<PostgresIndex | undefined> {
  if (kind === 'sqlite') return undefined;
  if (!postgres) throw new Error('PostgreSQL was not started');
  await postgresQuery(postgres, `CREATE DATABASE ${INDEX_DATABASE}`);
  const url = new URL(postgres.url);
  return { host: url.hostname, port: Number(url.port), database: INDEX_DATABASE, username: 'postgres', password: '' };
}

/** Orthanc's index on disk: its SQLite file with the write-ahead log, or the PostgreSQL database. */
async function indexBytes(kind: IndexKind, orthanc: OrthancInstance, postgres: PostgresServer | undefined): Promise<number> {
  if (kind === 'postgres') {
    const { rows } = await postgresQuery(postgres!, `SELECT pg_database_size('${INDEX_DATABASE}') AS size`);
    return Number(rows[0].size);
  }
  return ['index', 'index-wal']
    .map((name) => path.join(orthanc.storageDir, name))
    .filter((file) => existsSync(file))
    .reduce((sum, file) => sum + statSync(file).size, 0);
}

async function measure(kind: IndexKind, senders: string[][], postgres: PostgresServer | undefined): Promise<Figure[]> {
  const figures: Figure[] = [];
  const add = (label: string, value: number, better: Figure['better']) => figures.push({ label, value, better });
  const runDir = mkdtempSync(path.join(os.tmpdir(), `pacs-bench-side-${kind}-`));
  const orthanc = await startOrthanc({
    stableAge: 1,
    webhookUrl: `http://127.0.0.1:${apiPort}/api/ingest/orthanc`,
    webhookSecret: secret,
    index: await orthancIndex(kind, postgres),
  });
  console.log(`\n## Orthanc with its ${INDEX_TITLE[kind]}`);
  try {
    const databaseUrl = `sqlite:${path.join(runDir, 'pacs.sqlite')}`;
    const server = await startServer(apiEnv(runDir, databaseUrl, orthanc), apiPort);
    try {
      const started = Date.now();
      await cStore(orthanc, senders);
      const stored = Date.now();
      await waitForStudyRows(databaseUrl, count, PHASE_TIMEOUT_MS);
      const allVisible = Date.now();
      const latencies = await webhookToRowLatencies(databaseUrl);
      const instancesPerSecond = (count / (stored - started)) * 1000;
      const studiesPerMinute = (count / (allVisible - started)) * 60_000;
      console.log(`\nIngestion: ${count} single-instance studies, ${SENDERS} storescu senders, StableAge 1 s`);
      console.log(
        `- C-STORE of all instances: ${((stored - started) / 1000).toFixed(1)} s (${Math.round(instancesPerSecond)} instances/s)`,
      );
      console.log(
        `- first C-STORE to last worklist row: ${((allVisible - started) / 1000).toFixed(1)} s = ${Math.round(studiesPerMinute)} studies/min`,
      );
      console.log(
        `- webhook received → row committed (${latencies.length} studies with a webhook): p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms, p99 ${percentile(latencies, 99)} ms`,
      );
      add('C-STORE, instances/s', instancesPerSecond, 'higher');
      // One instance per study: the same rate in studies.
      add('C-STORE, studies/min', instancesPerSecond * 60, 'higher');
      add('first C-STORE → last worklist row, s', (allVisible - started) / 1000, 'lower');
      add('into the worklist, studies/min', studiesPerMinute, 'higher');
      add('webhook → row committed p50, ms', percentile(latencies, 50), 'lower');
      add('webhook → row committed p95, ms', percentile(latencies, 95), 'lower');
      // The API warms its metadata cache from Orthanc behind the last rows (up to 100 studies): let
      // that finish so neither side's queries below compete with it.
      await settle(orthanc);
      await new Promise((resolve) => setTimeout(resolve, 3000));

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
      await load('warm-up', { url: `${server.url}/api/studies?limit=50`, headers: ours, duration: 2 });
      for (const [title, apiPath, qidoPath] of pairs) {
        const a = await load(`API ${title}`, { url: `${server.url}${apiPath}`, headers: ours, duration });
        // A fixed number, every one waited for: at 10,000 studies one QIDO-RS search takes seconds
        // under load, so a timed run would count only the first few and leave Orthanc busy after it.
        const o = await load(`Orthanc QIDO-RS ${title}`, {
          url: `${orthanc.httpUrl}${qidoPath}`,
          headers: theirs,
          amount: qidoRequests,
          timeout: 600,
        });
        results.push(a, o);
        add(`API worklist ${title}, req/s`, a.rps, 'higher');
        add(`API worklist ${title}, p95 ms`, a.p95, 'lower');
        add(`Orthanc QIDO-RS ${title}, req/s`, o.rps, 'higher');
        add(`Orthanc QIDO-RS ${title}, p50 ms`, o.p50, 'lower');
        add(`Orthanc QIDO-RS ${title}, p95 ms`, o.p95, 'lower');
      }
      console.log(
        `\nSide by side, ${count} studies, 50 connections, the API for ${duration} s, Orthanc ${qidoRequests} requests (the API also writes an audit row per request)\n`,
      );
      console.log(table(results));
    } finally {
      await server.stop();
    }

    const feed = await walkChangeFeed(orthanc);
    const lookup = await load('Orthanc /studies/{id}', {
      url: orthanc.httpUrl,
      headers: { authorization: orthanc.authorization },
      paths: feed.studyIds.map((id) => `/studies/${id}`),
      duration,
    });
    await settle(orthanc);
    console.log(
      `\nChange feed: ${feed.changes} changes in ${feed.changePages} pages of 500, ${Math.round(feed.changesWalkMs)} ms in all (a page p50 ${feed.changePageP50.toFixed(1)} ms, p95 ${feed.changePageP95.toFixed(1)} ms); every study id in pages of 5000: ${Math.round(feed.studyListMs)} ms`,
    );
    console.log(`\n${table([lookup])}`);
    add('/changes walked from 0 (pages of 500), s', feed.changesWalkMs / 1000, 'lower');
    add('/changes page p50, ms', feed.changePageP50, 'lower');
    add('/changes page p95, ms', feed.changePageP95, 'lower');
    add('every study id (/studies, pages of 5000), ms', feed.studyListMs, 'lower');
    add('/studies/{id} at 50 connections, req/s', lookup.rps, 'higher');
    add('/studies/{id} p50, ms', lookup.p50, 'lower');
    add('/studies/{id} p95, ms', lookup.p95, 'lower');

    const catchUp = await reconcilerCatchUp(
      apiEnv(runDir, `sqlite:${path.join(runDir, 'catch-up.sqlite')}`, orthanc),
      apiPort + 1,
      count,
      PHASE_TIMEOUT_MS,
    );
    const catchUpRate = (catchUp.ingested / catchUp.rowsMs) * 60_000;
    console.log(
      `\nReconciler into an empty worklist: ${catchUp.ingested} studies in ${(catchUp.rowsMs / 1000).toFixed(1)} s = ${Math.round(catchUpRate)} studies/min; whole pass with the deletion sweep ${(catchUp.passMs / 1000).toFixed(1)} s`,
    );
    add('reconciler into an empty worklist, studies/min', catchUpRate, 'higher');
    add('reconciler pass with deletion sweep, s', catchUp.passMs / 1000, 'lower');
    const bytes = await indexBytes(kind, orthanc, postgres);
    console.log(`\nOrthanc's index: ${(bytes / 2 ** 20).toFixed(1)} MiB`);
    add("Orthanc's index size, MiB", bytes / 2 ** 20, 'lower');
  } finally {
    await orthanc.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
  return figures;
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { maximumFractionDigits: Math.abs(value) >= 100 ? 0 : 1 });
}

/** Rows of figures with a column per index; with both, the PostgreSQL/SQLite ratio and which is better. */
function sideBySide(runs: Map<IndexKind, Figure[]>): string {
  const columns = [...runs.keys()];
  const both = runs.has('sqlite') && runs.has('postgres');
  const head = `| figure | ${columns.map((kind) => INDEX_TITLE[kind]).join(' | ')} |${both ? ' PostgreSQL / SQLite | better |' : ''}`;
  const rule = `|---|${columns.map(() => '---|').join('')}${both ? '---|---|' : ''}`;
  const first = runs.get(columns[0]!)!;
  const rows = first.map((figure, i) => {
    const cells = columns.map((kind) => formatValue(runs.get(kind)![i]!.value));
    if (!both) return `| ${figure.label} | ${cells.join(' | ')} |`;
    const sqlite = runs.get('sqlite')![i]!.value;
    const postgres = runs.get('postgres')![i]!.value;
    const ratio = postgres / sqlite;
    // Within 5 %: run-to-run noise on shared cores is at least that.
    const better =
      !Number.isFinite(ratio) || Math.abs(ratio - 1) < 0.05 ? '≈' : ratio > 1 === (figure.better === 'higher') ? 'PostgreSQL' : 'SQLite';
    return `| ${figure.label} | ${cells.join(' | ')} | ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a'} | ${better} |`;
  });
  return [head, rule, ...rows].join('\n');
}

const loadBefore = os.loadavg();
const startedAt = Date.now();
const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-side-'));
// Commits reach the disk as in a deployment; Orthanc's SQLite index runs WAL with synchronous=NORMAL.
const postgres = kinds.includes('postgres') ? await startPostgres({ durable: true }) : undefined;
try {
  console.log(`Machine: ${machine()}; load average before: ${loadBefore.map((n) => n.toFixed(2)).join(', ')}`);
  // The same files for every index: one workload, generated once.
  const senders = writeBenchStudies(path.join(dir, 'files'), count);
  const runs = new Map<IndexKind, Figure[]>();
  for (const kind of kinds) runs.set(kind, await measure(kind, senders, postgres));
  console.log(
    `\n## Orthanc's index side by side: ${count} studies, 50 connections (the API and /studies/{id} for ${duration} s, QIDO-RS ${qidoRequests} requests)\n`,
  );
  console.log(sideBySide(runs));
  console.log(
    `\nWall time ${((Date.now() - startedAt) / 60_000).toFixed(1)} min; load average after: ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(', ')}`,
  );
} finally {
  postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
}
