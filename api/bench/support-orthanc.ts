/**
 * Shared pieces of the benchmarks that feed a real Orthanc: the study files and the storescu
 * senders, the API's ingestion figures read back from its database, and what the API's reconciler
 * asks of Orthanc (the change feed, the study list, one study) timed on their own.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateStudy } from '@pacs/test-kit/demo-studies';
import type { OrthancInstance } from '@pacs/test-kit/orthanc';
import { connectDatabase } from '../src/db/connect';
import { defineModels } from '../src/db/models';
import { percentile, startServer } from './support';

/** Parallel C-STORE associations, as several modalities sending at once. */
export const SENDERS = 4;
const FAMILY = ['Smith', 'Müller', 'García', 'Nguyen', 'Kowalski', 'Rossi', 'Dubois', 'Johansson'];
const MODALITIES = ['CR', 'DX', 'CT', 'MR'] as const;
// The reconciler's page of /changes and its deletion sweep's page of /studies (api/src/ingest/reconciler.ts).
const CHANGES_PAGE = 500;
const STUDIES_PAGE = 5000;

/** `count` small single-instance studies written once as files, dealt round-robin to the senders. */
export function writeBenchStudies(dir: string, count: number): string[][] {
  mkdirSync(dir, { recursive: true });
  const senders: string[][] = Array.from({ length: SENDERS }, () => []);
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
    const file = path.join(dir, `${i}.dcm`);
    writeFileSync(file, study.files[0]!);
    senders[i % SENDERS]!.push(file);
  }
  return senders;
}

/** One storescu per sender, all at once; resolves when every association has ended well. */
export function cStore(orthanc: Pick<OrthancInstance, 'aet' | 'dicomPort'>, senders: string[][]): Promise<void> {
  return Promise.all(
    senders.map(
      (files) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn('storescu', ['-aec', orthanc.aet, '127.0.0.1', String(orthanc.dicomPort), ...files], {
            // Debian's DCMTK turns Nagle off only when asked; without it each instance waits on delayed ACKs.
            env: { ...process.env, TCP_NODELAY: '1' },
            stdio: 'ignore',
          });
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`storescu exited ${code}`))));
        }),
    ),
  ).then(() => undefined);
}

async function openModels(databaseUrl: string) {
  const sequelize = await connectDatabase(databaseUrl);
  return { sequelize, models: defineModels(sequelize) };
}

/** Polls the API's database until it holds `count` studies. */
export async function waitForStudyRows(databaseUrl: string, count: number, timeoutMs: number): Promise<void> {
  const { sequelize, models } = await openModels(databaseUrl);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await models.Study.count();
      if (rows >= count) return;
      if (Date.now() > deadline) throw new Error(`only ${rows} of ${count} rows after ${Math.round(timeoutMs / 60_000)} minutes`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await sequelize.close();
  }
}

/**
 * Stable-study webhook received (its audit row) → worklist row committed (the Import row), in ms,
 * sorted, for every study that came by webhook.
 */
export async function webhookToRowLatencies(databaseUrl: string): Promise<number[]> {
  const { sequelize, models } = await openModels(databaseUrl);
  try {
    const hooks = await models.AuditLog.findAll({ where: { eventId: 'Import', action: 'E', outcome: 0 }, raw: true });
    const imports = await models.AuditLog.findAll({ where: { eventId: 'Import', action: 'C' }, raw: true });
    const hookAt = new Map<string, number>();
    for (const h of hooks) {
      const id = JSON.parse(h.details ?? '{}').orthancStudyId as string | undefined;
      if (id && !hookAt.has(id)) hookAt.set(id, new Date(h.eventDateTime).getTime());
    }
    const orthancIds = new Map(
      (await models.Study.findAll({ attributes: ['id', 'orthancId'], raw: true })).map((s) => [s.id, s.orthancId]),
    );
    return imports
      .map((row) => {
        const received = hookAt.get(orthancIds.get(row.objectId ?? '') ?? '');
        return received === undefined ? undefined : new Date(row.eventDateTime).getTime() - received;
      })
      .filter((v): v is number => v !== undefined && v >= 0)
      .sort((a, b) => a - b);
  } finally {
    await sequelize.close();
  }
}

/**
 * Waits until Orthanc has finished what a load generator left in flight (it keeps working on
 * requests whose client has gone): a read of its database then answers at once again.
 */
export async function settle(orthanc: OrthancInstance, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { ms } = await timedJson(orthanc, '/statistics');
    if (ms < 50) return;
  }
  throw new Error('Orthanc stayed busy after the load');
}

export interface FeedFigures {
  changes: number;
  changePages: number;
  /** The whole change feed from 0, one page after the other, as a reconciler pass from an empty cursor reads it. */
  changesWalkMs: number;
  changePageP50: number;
  changePageP95: number;
  /** Every study id, in the deletion sweep's pages. */
  studyListMs: number;
  studyIds: string[];
}

async function timedJson<T>(orthanc: OrthancInstance, pathname: string): Promise<{ ms: number; body: T }> {
  const started = performance.now();
  const body = await orthanc.getJson<T>(pathname);
  return { ms: performance.now() - started, body };
}

/** Reads Orthanc's change feed and study list the way the reconciler does, one request at a time. */
export async function walkChangeFeed(orthanc: OrthancInstance): Promise<FeedFigures> {
  const pageMs: number[] = [];
  let changes = 0;
  let since = 0;
  for (;;) {
    const { ms, body } = await timedJson<{ Changes: unknown[]; Done: boolean; Last: number }>(
      orthanc,
      `/changes?since=${since}&limit=${CHANGES_PAGE}`,
    );
    pageMs.push(ms);
    changes += body.Changes.length;
    since = body.Last;
    if (body.Done || body.Changes.length === 0) break;
  }
  const studyIds: string[] = [];
  let studyListMs = 0;
  for (let offset = 0; ; offset += STUDIES_PAGE) {
    const { ms, body } = await timedJson<string[]>(orthanc, `/studies?since=${offset}&limit=${STUDIES_PAGE}`);
    studyListMs += ms;
    studyIds.push(...body);
    if (body.length < STUDIES_PAGE) break;
  }
  const changesWalkMs = pageMs.reduce((a, b) => a + b, 0);
  pageMs.sort((a, b) => a - b);
  return {
    changes,
    changePages: pageMs.length,
    changesWalkMs,
    changePageP50: percentile(pageMs, 50),
    changePageP95: percentile(pageMs, 95),
    studyListMs,
    studyIds,
  };
}

export interface CatchUpFigures {
  /** Reconciler pass start → the last study's worklist row committed. */
  rowsMs: number;
  /** The whole pass, the deletion sweep included. */
  passMs: number;
  ingested: number;
}

/**
 * The API's safety net at scale: a second API with an empty worklist on the same Orthanc, whose
 * reconciler (run once at start-up) reads the whole change feed and ingests every study from it.
 */
export async function reconcilerCatchUp(
  env: Record<string, string>,
  port: number,
  count: number,
  timeoutMs: number,
): Promise<CatchUpFigures> {
  const databaseUrl = env.DATABASE_URL!;
  const server = await startServer(env, port);
  try {
    const { sequelize, models } = await openModels(databaseUrl);
    try {
      const deadline = Date.now() + timeoutMs;
      let status: { lastRunAt: string; lastSuccessAt: string | null; lastError: string | null; ingested: number } | undefined;
      while (!status) {
        const row = await models.AppState.findByPk('orthanc.reconcile.status', { raw: true });
        if (row) status = JSON.parse(row.value);
        else if (Date.now() > deadline) throw new Error('the reconciler pass did not finish in time');
        else await new Promise((resolve) => setTimeout(resolve, 500));
      }
      if (status.lastError || !status.lastSuccessAt) throw new Error(`reconciler pass failed: ${status.lastError}`);
      const lastRow = (await models.AuditLog.max('eventDateTime', { where: { eventId: 'Import', action: 'C' } })) as Date | string | null;
      const started = new Date(status.lastRunAt).getTime();
      if (status.ingested < count) throw new Error(`reconciler ingested ${status.ingested} of ${count} studies`);
      return {
        rowsMs: new Date(lastRow ?? status.lastSuccessAt).getTime() - started,
        passMs: new Date(status.lastSuccessAt).getTime() - started,
        ingested: status.ingested,
      };
    } finally {
      await sequelize.close();
    }
  } finally {
    await server.stop();
  }
}
