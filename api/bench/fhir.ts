/**
 * FHIR at scale: `DiagnosticReport?patient=` with 100,000 signed reports (20,000 patients, five
 * studies each, one final report per study) seeded straight into SQLite, the API in its own process,
 * one connection, then 20, asking for random patients for 10 s each. Every request is audited (a PHI read), as in
 * production. Goal: p95 < 50 ms.
 *
 * Run: pnpm --filter @pacs/api exec tsx bench/fhir.ts [--reports 100000] [--duration 10]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { foldForSearch } from '@pacs/shared';
import { QueryTypes } from 'sequelize';
import { DEV_PASSWORDS } from '../src/config';
import { connectDatabase } from '../src/db/connect';
import { migrate } from '../src/db/migrate';
import { DEMO_ATTENDING_EMAIL } from '../src/db/seed';
import { encodeModalities } from '../src/worklist/present';
import { freePort } from '../test/support/sync-server';
import { benchApiEnv, load, machine, startServer, table } from './support';
import { STUDY_COLUMNS } from './worklist-seed';

const { values } = parseArgs({
  options: {
    reports: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '1,20' },
  },
});
const REPORTS = Number(values.reports);
const PER_PATIENT = 5;
const BATCH = 500;
const STAMP = '2026-06-01 08:00:00.000 +00:00';

/** Rows of `columns` inserted `BATCH` at a time. */
async function insert(
  sequelize: Awaited<ReturnType<typeof connectDatabase>>,
  table: string,
  columns: string[],
  rows: unknown[][],
  transaction: unknown,
) {
  for (let offset = 0; offset < rows.length; offset += BATCH) {
    const batch = rows.slice(offset, offset + BATCH);
    const placeholders = batch.map(() => `(${columns.map(() => '?').join(',')})`).join(',');
    await sequelize.query(`INSERT INTO ${table} (${columns.join(',')}) VALUES ${placeholders}`, {
      replacements: batch.flat(),
      transaction: transaction as never,
    });
  }
}

/** The data, written after the API's first start created the schema and the demo users. */
async function seed(databaseUrl: string): Promise<string[]> {
  const sequelize = await connectDatabase(databaseUrl);
  await migrate(sequelize);
  const [attending] = await sequelize.query<{ id: string }>('SELECT id FROM users WHERE email = ?', {
    replacements: [DEMO_ATTENDING_EMAIL],
    type: QueryTypes.SELECT,
  });
  if (!attending) throw new Error('the demo attending was not seeded');
  const patientRefs: string[] = [];
  await sequelize.transaction(async (transaction) => {
    const patients = Math.ceil(REPORTS / PER_PATIENT);
    const patientRows: unknown[][] = [];
    for (let p = 0; p < patients; p++) {
      const id = randomUUID();
      patientRefs.push(id);
      patientRows.push([id, `MRN${p}`, 'HOSP', `Bench^Patient${p}`, STAMP, STAMP]);
    }
    await insert(
      sequelize,
      'patients',
      ['id', 'patientId', 'issuerOfPatientId', 'name', 'createdAt', 'updatedAt'],
      patientRows,
      transaction,
    );
    const studies: unknown[][] = [];
    const reports: unknown[][] = [];
    for (let i = 0; i < REPORTS; i++) {
      const p = Math.floor(i / PER_PATIENT);
      const studyId = randomUUID();
      const name = `Bench^Patient${p}`;
      studies.push([
        studyId,
        `1.2.826.0.1.3680043.10.77.${i}`,
        patientRefs[p],
        name,
        `MRN${p}`,
        `A${i}`,
        '20260601',
        '080000',
        'CT HEAD',
        encodeModalities(['CT']),
        '',
        foldForSearch(`${name} MRN${p} A${i} CT HEAD`),
        1,
        100,
        'final',
        'routine',
        2,
        STAMP,
        1,
        i + 1,
        STAMP,
        STAMP,
        0,
      ]);
      reports.push([
        randomUUID(),
        studyId,
        studyId,
        'final',
        attending.id,
        attending.id,
        'Dr Bench',
        STAMP,
        `Findings: study ${i} unremarkable.\nImpression: no acute abnormality.`,
        'a'.repeat(64),
        2,
        STAMP,
        STAMP,
      ]);
    }
    await insert(sequelize, 'studies', STUDY_COLUMNS, studies, transaction);
    await insert(
      sequelize,
      'reports',
      [
        'id',
        'studyRef',
        'primarySlot',
        'status',
        'authorId',
        'finalSignerId',
        'finalSignerName',
        'finalSignedAt',
        'contentText',
        'contentHash',
        'version',
        'createdAt',
        'updatedAt',
      ],
      reports,
      transaction,
    );
    await sequelize.query(`UPDATE counters SET value = ${REPORTS} WHERE name = 'worklist'`, { transaction });
  });
  // No ANALYZE: the API never runs it, and with its statistics SQLite 3.40 scans the reports
  // table for the addenda (`parentReportId IN …`, an index of NULLs) instead of using its index.
  await sequelize.close();
  return patientRefs;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-fhir-'));
const databaseUrl = `sqlite:${path.join(dir, 'pacs.sqlite')}`;
try {
  const env = benchApiEnv(dir, databaseUrl);
  await (await startServer(env, await freePort())).stop();
  const started = Date.now();
  const patients = await seed(databaseUrl);
  console.log(`seeded ${REPORTS} reports of ${patients.length} patients in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const server = await startServer(env, await freePort());
  try {
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: DEMO_ATTENDING_EMAIL, password: DEV_PASSWORDS.radiologist }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const headers = { authorization: `Bearer ${accessToken}`, accept: 'application/fhir+json' };
    const sample = await fetch(`${server.url}/fhir/DiagnosticReport?patient=${patients[7]}`, { headers });
    const bundle = (await sample.json()) as { entry?: unknown[] };
    if (sample.status !== 200 || bundle.entry?.length !== PER_PATIENT)
      throw new Error(`sample search: ${sample.status}, ${bundle.entry?.length} entries`);
    const paths = Array.from({ length: 2000 }, (_, i) => `/fhir/DiagnosticReport?patient=${patients[(i * 7919) % patients.length]}`);
    const results = [];
    for (const connections of values.connections.split(',').map(Number)) {
      results.push(
        await load(`GET /fhir/DiagnosticReport?patient=… (5 reports a bundle), ${connections} connection(s)`, {
          url: server.url,
          headers,
          connections,
          duration: Number(values.duration),
          paths,
        }),
      );
    }
    console.log(`\n${REPORTS} reports, ${values.duration} s each, SQLite (WAL); every request also writes its audit row\n`);
    console.log(table(results));
    console.log(`\nMachine: ${machine()}`);
  } finally {
    await server.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
