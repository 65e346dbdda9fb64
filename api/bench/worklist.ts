/**
 * Issue "Orthanc ingestion…" benchmark 1: the worklist at scale. Seeds N studies straight into
 * SQLite, starts the API in its own process, and measures at 50 connections: the default page,
 * a filtered page, a deep keyset page (90 % down the list) and a free-text search.
 * Goal: p95 < 50 ms at 1,000,000 studies on SQLite.
 * Run: pnpm --filter @pacs/api exec tsx bench/worklist.ts [--studies 100000,1000000] [--duration 10]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { foldForSearch, PRIORITY_RANK, STUDY_PRIORITIES, STUDY_STATUSES } from '@pacs/shared';
import { QueryTypes } from 'sequelize';
import { connectDatabase } from '../src/db/connect';
import { migrate } from '../src/db/migrate';
import { encodeCursor } from '../src/pagination';
import { encodeModalities } from '../src/worklist/present';
import { type LoadResult, load, machine, startServer, table } from './support';

const { values } = parseArgs({
  options: { studies: { type: 'string', default: '100000,1000000' }, duration: { type: 'string', default: '10' } },
});
const sizes = values.studies.split(',').map(Number);
const duration = Number(values.duration);

const FAMILY = ['Smith', 'Müller', 'García', 'Nguyen', 'Kowalski', 'Rossi', 'Dubois', 'Johansson', 'Silva', 'Novák', 'Okafor', 'Tanaka'];
const GIVEN = ['Anna', 'José', 'Zoë', 'Li', 'Marek', 'Giulia', 'Élodie', 'Lars', 'João', 'Petra', 'Chidi', 'Yuki'];
const MODALITIES = ['CT', 'MR', 'CR', 'US', 'DX', 'PT', 'MG', 'NM'];
const DESCRIPTIONS = ['CT HEAD', 'MR BRAIN', 'CHEST PA', 'US ABDOMEN', 'CT THORAX', 'MR KNEE', 'PET CT', 'MAMMO'];

async function seed(databaseUrl: string, count: number): Promise<void> {
  const sequelize = await connectDatabase(databaseUrl);
  await migrate(sequelize);
  const patientIds: string[] = [];
  const now = Date.UTC(2026, 10, 1);
  const BATCH = 1000;
  await sequelize.transaction(async (transaction) => {
    const patients = Math.ceil(count / 3);
    for (let offset = 0; offset < patients; offset += BATCH) {
      const rows: unknown[] = [];
      const placeholders: string[] = [];
      for (let i = offset; i < Math.min(patients, offset + BATCH); i++) {
        const id = randomUUID();
        patientIds.push(id);
        placeholders.push('(?,?,?,?,?,?)');
        rows.push(
          id,
          `P${i}`,
          '',
          `${FAMILY[i % 12]}^${GIVEN[(i * 7) % 12]}`,
          '2026-01-01 00:00:00.000 +00:00',
          '2026-01-01 00:00:00.000 +00:00',
        );
      }
      await sequelize.query(
        `INSERT INTO patients (id, patientId, issuerOfPatientId, name, createdAt, updatedAt) VALUES ${placeholders.join(',')}`,
        {
          replacements: rows,
          transaction,
        },
      );
    }
    for (let offset = 0; offset < count; offset += BATCH) {
      const rows: unknown[] = [];
      const placeholders: string[] = [];
      for (let i = offset; i < Math.min(count, offset + BATCH); i++) {
        const p = Math.floor(i / 3);
        const priority = STUDY_PRIORITIES[i % 50 === 0 ? 0 : i % 10 === 0 ? 1 : 2]!;
        const status = STUDY_STATUSES[i % 4]!;
        const name = `${FAMILY[p % 12]}^${GIVEN[(p * 7) % 12]}`;
        const modality = MODALITIES[i % 8]!;
        const description = DESCRIPTIONS[i % 8]!;
        const received = new Date(now - (count - i) * 30_000).toISOString().replace('T', ' ').replace('Z', ' +00:00');
        const studyDate = received.slice(0, 10).replace(/-/g, '');
        placeholders.push('(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
        rows.push(
          randomUUID(),
          `1.2.826.0.1.3680043.10.9.${i}`,
          patientIds[p],
          name,
          `P${p}`,
          `A${i}`,
          studyDate,
          '120000',
          description,
          encodeModalities([modality]),
          '',
          foldForSearch(`${name} P${p} A${i} ${description}`),
          1,
          10 + (i % 200),
          status,
          priority,
          PRIORITY_RANK[priority],
          received,
          1,
          i + 1,
          received,
          received,
          0,
        );
      }
      await sequelize.query(
        `INSERT INTO studies (id, studyInstanceUid, patientRef, patientName, patientId, accessionNumber, studyDate, studyTime, description, modalities, bodyPart, searchText, numberOfSeries, numberOfInstances, status, priority, priorityRank, receivedAt, version, changeSeq, createdAt, updatedAt, updatedAfterArrival) VALUES ${placeholders.join(',')}`,
        { replacements: rows, transaction },
      );
    }
    await sequelize.query(`UPDATE counters SET value = ${count} WHERE name = 'worklist'`, { transaction });
  });
  await sequelize.query('ANALYZE');
  await sequelize.close();
}

/** Cursors spread over the default order, as clients that paged that far would hold them. */
async function cursorsAt(databaseUrl: string, count: number, fractions: number[]): Promise<string[]> {
  const sequelize = await connectDatabase(databaseUrl);
  const cursors: string[] = [];
  for (const fraction of fractions) {
    const [row] = await sequelize.query<{ priorityRank: number; receivedAt: string; id: string }>(
      'SELECT priorityRank, receivedAt, id FROM studies ORDER BY priorityRank, receivedAt, id LIMIT 1 OFFSET ?',
      { replacements: [Math.floor(count * fraction)], type: QueryTypes.SELECT },
    );
    cursors.push(encodeCursor([row!.priorityRank, new Date(row!.receivedAt).toISOString(), row!.id]));
  }
  await sequelize.close();
  return cursors;
}

console.log(`Machine: ${machine()}\n`);
for (const count of sizes) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-worklist-'));
  const databaseUrl = `sqlite:${path.join(dir, 'pacs.sqlite')}`;
  try {
    const started = Date.now();
    await seed(databaseUrl, count);
    console.log(`seeded ${count} studies in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const [cursor] = await cursorsAt(databaseUrl, count, [0.9]);
    const spread = await cursorsAt(
      databaseUrl,
      count,
      Array.from({ length: 500 }, (_, i) => (i + 0.5) / 500),
    );
    const server = await startServer(
      { DATABASE_URL: databaseUrl, PACS_DATA_DIR: dir, PACS_JWT_SECRET: 'bench-secret-0123456789-0123456789-abcdef' },
      3997,
    );
    try {
      const login = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'radiologist@pacs.local', password: 'pacs-radiologist-dev-password' }),
      });
      const { accessToken } = (await login.json()) as { accessToken: string };
      const headers = { authorization: `Bearer ${accessToken}` };
      const url = (qs: string) => `${server.url}/api/studies?${qs}`;
      await load('warm-up', { url: url('limit=50'), headers, duration: 2 });
      const results: LoadResult[] = [
        await load(`default page (${count})`, { url: url('limit=50'), headers, duration }),
        await load(`filtered: status=unread&modality=CT (${count})`, { url: url('status=unread&modality=CT&limit=50'), headers, duration }),
        await load(`deep keyset page, 90 % (${count})`, { url: url(`limit=50&cursor=${cursor}`), headers, duration }),
        await load(`free text q=kowalski (${count})`, { url: url('q=kowalski&limit=50'), headers, duration }),
        await load(`uncached: 200 distinct accession searches (${count})`, {
          url: url('limit=50'),
          headers,
          duration,
          paths: Array.from({ length: 200 }, (_, i) => `/api/studies?limit=50&q=a${Math.floor(((i + 0.5) / 200) * count)}x`),
        }),
        await load(`uncached: 500 distinct keyset pages (${count})`, {
          url: url('limit=50'),
          headers,
          duration,
          paths: spread.map((c) => `/api/studies?limit=50&cursor=${c}`),
        }),
      ];
      console.log(`\n${count} studies, 50 connections, ${duration} s each, SQLite (WAL); every request also writes its audit row\n`);
      console.log(table(results));
      console.log('');
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
