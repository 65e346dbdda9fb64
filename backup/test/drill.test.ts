/**
 * The backup drill (DEPLOYMENT.md, Backups): a department's morning (studies in Orthanc and the
 * worklist, reports signed, one being typed) backed up by the backup command while typing, reading
 * and signing go on; more work after it; then everything stopped and restored by the restore
 * command into a fresh installation (a new database, an empty Orthanc storage folder). On SQLite,
 * and on PostgreSQL (PACS_TEST_DIALECT=postgres) with Orthanc's index in PostgreSQL too.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '@pacs/api/app';
import { loadConfig } from '@pacs/api/config';
import { bearer, createTestApp, TEST_APP_ENV, type TestApp } from '@pacs/api/testing';
import { createPostgresDatabase, createTestDatabase, type TestDatabase, testDialect } from '@pacs/api/testing/database';
import { seedStudy } from '@pacs/api/testing/studies';
import {
  appendToSection,
  type EditorClient,
  editorClient,
  freePort,
  reviewed,
  type SyncProcess,
  startSyncServer,
  syncEnv,
  untilServerHolds,
  waitFor,
} from '@pacs/api/testing/sync-server';
import type { Report, ReportVerification } from '@pacs/shared';
import { reportDocumentName } from '@pacs/shared';
import { demoStudySet } from '@pacs/test-kit/demo-studies';
import { apiEnvFor, type OrthancInstance, startOrthanc, storeFilesRest } from '@pacs/test-kit/orthanc';
import type { FastifyInstance } from 'fastify';
import { QueryTypes, type Sequelize } from 'sequelize';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postgresIndexFromUrl } from '../../orthanc/config';
import type { Manifest } from '../src/manifest';
import { runCommand } from './support';

const dialect = testDialect();
const work = mkdtempSync(path.join(os.tmpdir(), 'pacs-backup-drill-'));
const signingKey = path.join(work, 'signing.pem');
writeFileSync(signingKey, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
const cleanups: (() => Promise<unknown>)[] = [];
const clients: EditorClient[] = [];
type User = { id: string; token: string };

/** Orthanc's index: its own SQLite file, or (on PostgreSQL) a database of its own. */
async function orthancIndexDatabase(): Promise<string | undefined> {
  if (dialect !== 'postgres') return undefined;
  const database = await createPostgresDatabase(process.env.TEST_POSTGRES_URL!, 'orthanc_index');
  cleanups.push(() => database.drop());
  return database.url;
}

const installationEnv = (databaseUrl: string, storageDir: string, indexUrl: string | undefined) => ({
  DATABASE_URL: databaseUrl,
  PACS_DATA_DIR: path.join(work, 'data'),
  PACS_ORTHANC_STORAGE_DIR: storageDir,
  ...(indexUrl ? { PACS_ORTHANC_INDEX_URL: indexUrl } : {}),
});

const apiEnv = (orthanc: OrthancInstance, syncPort: number) => ({
  ...syncEnv(syncPort),
  ...apiEnvFor(orthanc),
  PACS_REPORT_SIGNING_KEY_FILE: signingKey,
});

const call = (app: FastifyInstance, user: User, method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({ method, url, headers: bearer(user.token), ...(payload ? { payload } : {}) });

/** The audit trail up to `lastId`, as rows that must come back unchanged. */
async function auditUpTo(sequelize: Sequelize, lastId: number): Promise<string> {
  const rows = await sequelize.query(
    'SELECT id, "eventId", action, outcome, "userId", "objectId" FROM audit_logs WHERE id <= :lastId ORDER BY id',
    { type: QueryTypes.SELECT, replacements: { lastId } },
  );
  return JSON.stringify(rows);
}

let orthanc: OrthancInstance;
let originalIndexUrl: string | undefined;
let original: TestApp;
let sync: SyncProcess;
let syncPort: number;
let resident: User;
let attending: User;

/** A report the resident drafted and the attending signed. */
async function signReport(app: FastifyInstance, text: string): Promise<{ id: string; contentHash: string }> {
  const study = await seedStudy(app, { patientName: 'Drill^Signed' });
  const created = await call(app, resident, 'POST', `/api/studies/${study.id}/report`, {});
  expect(created.statusCode, created.body).toBe(201);
  const reportId = (created.json() as Report).id;
  const session = (await call(app, attending, 'POST', `/api/reports/${reportId}/session`)).json() as { token: string; document: string };
  const client = editorClient(syncPort, session.document, session.token);
  clients.push(client);
  await waitFor(() => client.synced(), 'provider synced');
  appendToSection(client.doc, 'Impression', text);
  await untilServerHolds(sync.url, session.document, client.doc);
  const signed = await call(app, attending, 'POST', `/api/reports/${reportId}/finalize`, reviewed(client.doc));
  expect(signed.statusCode, signed.body).toBe(200);
  client.destroy();
  const row = await app.db.models.Report.findByPk(reportId, { raw: true });
  return { id: reportId, contentHash: row!.contentHash! };
}

beforeAll(async () => {
  originalIndexUrl = await orthancIndexDatabase();
  orthanc = await startOrthanc({ stableAge: 1, ...(originalIndexUrl ? { index: postgresIndexFromUrl(originalIndexUrl, false) } : {}) });
  cleanups.push(() => orthanc.stop());
  syncPort = await freePort();
  original = await createTestApp(apiEnv(orthanc, syncPort));
  sync = await startSyncServer(original.database.url, syncPort);
  resident = await original.userWithToken('resident');
  attending = await original.userWithToken('attending');
}, 180_000);

afterAll(async () => {
  for (const client of clients) client.destroy();
  await sync?.stop();
  await original?.close();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

it('a backup taken in use restores into a fresh installation: counts, signatures, audit trail, images; devices resynchronise', async () => {
  const app = original.app;
  // The morning: studies through Orthanc into the worklist, two reports signed, one being typed.
  const [first, second, later] = demoStudySet(3, { seed: 41 });
  for (const study of [first!, second!]) expect((await storeFilesRest(orthanc, study.files)).failed).toBe(0);
  await waitFor(
    async () => {
      await app.ingestion!.reconciler.runOnce();
      return (await app.db.models.Study.count({ where: { studyInstanceUid: [first!.studyInstanceUid, second!.studyInstanceUid] } })) === 2;
    },
    'both studies in the worklist',
    30_000,
  );
  const signed = [await signReport(app, 'Signed before the backup, first.'), await signReport(app, 'Signed before the backup, second.')];
  const draftStudy = await seedStudy(app, { patientName: 'Drill^Typing' });
  const draft = (await call(app, resident, 'POST', `/api/studies/${draftStudy.id}/report`, {})).json() as Report;
  const draftSession = (await call(app, resident, 'POST', `/api/reports/${draft.id}/session`)).json() as {
    token: string;
    document: string;
  };
  const device = editorClient(syncPort, draftSession.document, draftSession.token);
  clients.push(device);
  await waitFor(() => device.synced(), 'typing device synced');
  appendToSection(device.doc, 'Impression', 'Typed before the backup.');
  await untilServerHolds(sync.url, draftSession.document, device.doc);
  const feed = (await call(app, attending, 'GET', '/api/studies/changes?cursor=0')).json() as { cursor: string; epoch: string };

  // The backup, while the resident types, the worklist is read (audit rows) and a report is signed.
  let busy = true;
  const typing = (async () => {
    for (let i = 0; busy; i++) {
      appendToSection(device.doc, 'Impression', ` ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const reading = (async () => {
    while (busy) expect((await call(app, attending, 'GET', '/api/studies?limit=50')).statusCode).toBe(200);
  })();
  const signing = signReport(app, 'Signed while the backup ran.');
  const backupDir = path.join(work, 'backup');
  const taken = await runCommand(['backup', backupDir], installationEnv(original.database.url, orthanc.storageDir, originalIndexUrl));
  busy = false;
  await Promise.all([typing, reading]);
  const duringBackup = await signing;
  expect(taken.stderr).toBe('');
  expect(taken.status, taken.stdout).toBe(0);
  const manifest = JSON.parse(readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')) as Manifest;
  expect(manifest.counts.signedReports).toBeGreaterThanOrEqual(2);
  // Orthanc's index is in the backup when it lives in PostgreSQL; its own SQLite index is rebuilt instead.
  expect(manifest.orthanc.index === null).toBe(dialect === 'sqlite');

  // Work after the backup, which the restore cannot have: a report signed, text typed, a study received.
  const afterBackup = await signReport(app, 'Signed after the backup.');
  appendToSection(device.doc, 'Impression', ' Typed after the backup.');
  await untilServerHolds(sync.url, draftSession.document, device.doc);
  expect((await storeFilesRest(orthanc, later!.files)).failed).toBe(0);
  const auditBefore = await auditUpTo(app.db.sequelize, manifest.counts.lastAuditId);
  // The first instance Orthanc received, long before the backup.
  const [instanceId] = await orthanc.getJson<string[]>('/instances?since=0&limit=1');
  const uidsBefore = (await orthanc.getJson<{ MainDicomTags: { StudyInstanceUID: string } }[]>('/studies?expand')).map(
    (s) => s.MainDicomTags.StudyInstanceUID,
  );
  const imageBytes = Buffer.from(await (await orthanc.request(`/instances/${instanceId}/file`)).arrayBuffer());

  // Everything stops (the device keeps its text and keeps trying to reconnect); restore into new places.
  await sync.stop();
  await app.close();
  await orthanc.stop();
  const restoredDb: TestDatabase = await createTestDatabase();
  cleanups.push(() => restoredDb.drop());
  const restoredStorage = path.join(work, 'restored-storage');
  mkdirSync(restoredStorage);
  const restoredIndex = await orthancIndexDatabase();
  const restored = await runCommand(['restore', backupDir], installationEnv(restoredDb.url, restoredStorage, restoredIndex));
  expect(restored.status, `${restored.stdout}${restored.stderr}`).toBe(0);

  const orthanc2 = await startOrthanc({
    stableAge: 1,
    storageDir: restoredStorage,
    ...(restoredIndex ? { index: postgresIndexFromUrl(restoredIndex, false) } : {}),
  });
  cleanups.push(() => orthanc2.stop());
  // The same installation settings as before the restore, so earlier tokens still hold.
  const app2 = await buildApp(loadConfig({ ...TEST_APP_ENV, ...apiEnv(orthanc2, syncPort), DATABASE_URL: restoredDb.url }));
  cleanups.push(() => app2.close());
  sync = await startSyncServer(restoredDb.url, syncPort);

  // Counts as the backup recorded them; every report signed in it verifies, hash and signature.
  const studies = await app2.db.models.Study.count();
  expect(studies).toBe(manifest.counts.studies);
  const reports = await app2.db.models.Report.findAll({ raw: true });
  expect(reports.length).toBe(manifest.counts.reports);
  const signedNow = reports.filter((r) => r.finalSignedAt !== null);
  expect(signedNow.length).toBe(manifest.counts.signedReports);
  for (const report of [...signed, ...(signedNow.some((r) => r.id === duringBackup.id) ? [duringBackup] : [])]) {
    const verification = await call(app2, attending, 'GET', `/api/reports/${report.id}/verification`);
    expect(verification.statusCode, verification.body).toBe(200);
    expect(verification.json() as ReportVerification).toMatchObject({ verified: true, parts: [{ contentHash: report.contentHash }] });
  }
  expect(reports.some((r) => r.id === afterBackup.id)).toBe(false);
  // No torn state between the API's tables and the sync-server's: every signed report's document is locked.
  const locks = await app2.db.sequelize.query<{ document: string }>('SELECT document FROM sync_locks', { type: QueryTypes.SELECT });
  for (const report of signedNow) expect(locks.map((l) => l.document)).toContain(reportDocumentName(report.id));

  // The audit trail up to the backup's last row, unchanged; new rows continue after it.
  expect(await auditUpTo(app2.db.sequelize, manifest.counts.lastAuditId)).toBe(auditBefore);
  expect((await call(app2, attending, 'GET', '/api/studies?limit=50')).statusCode).toBe(200);
  const [after] = await app2.db.sequelize.query<{ next: number }>('SELECT min(id) AS next FROM audit_logs WHERE id > :last', {
    type: QueryTypes.SELECT,
    replacements: { last: manifest.counts.lastAuditId },
  });
  expect(Number(after!.next)).toBeGreaterThan(manifest.counts.lastAuditId);

  // Orthanc holds what it held at the backup (not the study received after it), byte for byte,
  // under the identifiers the restored worklist uses.
  const inOrthanc = await orthanc2.getJson<{ MainDicomTags: { StudyInstanceUID: string } }[]>('/studies?expand');
  const restoredUids = inOrthanc.map((s) => s.MainDicomTags.StudyInstanceUID);
  expect(restoredUids).toEqual(expect.arrayContaining([first!.studyInstanceUid, second!.studyInstanceUid]));
  expect(restoredUids).not.toContain(later!.studyInstanceUid);
  // The rest are signed reports archived into their studies, each one Orthanc held before the restore.
  for (const uid of restoredUids) expect(uidsBefore).toContain(uid);
  expect(Buffer.from(await (await orthanc2.request(`/instances/${instanceId}/file`)).arrayBuffer()).equals(imageBytes)).toBe(true);
  const metadata = await call(app2, attending, 'GET', `/dicom-web/studies/${first!.studyInstanceUid}/metadata`);
  expect(metadata.statusCode, metadata.body.slice(0, 200)).toBe(200);

  // Devices: the worklist feed starts again (new epoch), and the typing device gives back what the
  // restore lost as soon as it reconnects.
  const reset = await call(app2, attending, 'GET', `/api/studies/changes?cursor=${feed.cursor}&epoch=${feed.epoch}`);
  expect(reset.statusCode).toBe(409);
  expect(reset.json()).toMatchObject({ code: 'FEED_RESET' });
  await untilServerHolds(sync.url, draftSession.document, device.doc);
  expect(device.doc.getXmlFragment('default').toString()).toContain('Typed after the backup.');
});
