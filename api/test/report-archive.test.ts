/**
 * The signed report goes back into the archive, with real parts: images C-STOREd into a real
 * Orthanc and ingested, a report written through the real sync-server and signed; the outbox then
 * stores it in Orthanc as an Encapsulated PDF in the study. DICOMweb (Orthanc's, and through the
 * API's proxy) lists it in a reports series; Orthanc hands back the PDF with the signed text; an
 * addendum adds a second version to the same series. The worklist row does not take the report for
 * new images. With the archive unreachable the signature still stands and the copy waits.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report, StudyDetail, WorklistStudy } from '@pacs/shared';
import { generateStudy } from '@pacs/test-kit/demo-studies';
import { apiEnvFor, type OrthancInstance, startOrthanc, storeFiles } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PdfExport } from '../src/reports/pdf-export';
import { createReportStore } from '../src/reports/report-store';
import { SyncClient } from '../src/reports/sync-client';
import { ArchiveDestination } from '../src/results/archive-destination';
import { ARCHIVE_DESTINATION } from '../src/results/destinations';
import { ENCAPSULATED_PDF_STORAGE, REPORT_SERIES_NUMBER, reportInstanceUid, reportSeriesUid } from '../src/results/encapsulated-report';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';
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
} from './support/sync-server';

let orthanc: OrthancInstance;
let t: TestApp;
let sync: SyncProcess;
let attending: string;
const clients: EditorClient[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pacs-report-archive-'));

function archiveEnv(syncPort: number): Record<string, string> {
  return {
    ...syncEnv(syncPort),
    PACS_RECONCILE_INTERVAL_SECONDS: '0',
    PACS_HL7_RESULT_RETRY_MAX_SECONDS: '1',
  };
}

beforeAll(async () => {
  orthanc = await startOrthanc({ stableAge: 1 });
  const syncPort = await freePort();
  t = await createTestApp({ ...apiEnvFor(orthanc), ...archiveEnv(syncPort) });
  sync = await startSyncServer(t.database.url, syncPort);
  attending = (await t.userWithToken('attending')).token;
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.destroy();
  await sync?.stop();
  await t?.close();
  await orthanc?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const api = (method: 'GET' | 'POST', url: string, payload?: object) =>
  t.app.inject({ method, url, headers: bearer(attending), ...(payload ? { payload } : {}) });

let seed = 40;
/** A small CT stored in Orthanc with storescu and ingested; its worklist row. */
async function studyInOrthanc(): Promise<{ row: WorklistStudy; studyUid: string; orthancId: string }> {
  const mrn = `ARC${Date.now().toString(36)}${seed}`;
  const study = generateStudy(
    {
      patient: { name: 'Archive^Ada', id: mrn, birthDate: '19700101', sex: 'F' },
      studyDate: '20261203',
      studyTime: '101500',
      accessionNumber: `ACC${mrn}`.slice(0, 16),
      description: 'CT abdomen',
      priority: 'ROUTINE',
      series: [{ modality: 'CT', description: 'axial', instances: 2, rows: 64, columns: 64 }],
    },
    seed++,
  );
  const stored = await storeFiles(orthanc, study.files);
  expect(stored.failed, stored.output).toBe(0);
  const found = await orthanc.request('/tools/lookup', { method: 'POST', body: study.studyInstanceUid });
  const id = ((await found.json()) as { ID: string; Type: string }[]).find((r) => r.Type === 'Study')!.ID;
  await t.app.ingestion!.ingestor.ingest(id, 'manual');
  const row = (await t.app.db.models.Study.findOne({ where: { studyInstanceUid: study.studyInstanceUid }, raw: true }))!;
  const presented = ((await api('GET', `/api/studies/${row.id}`)).json() as StudyDetail).study;
  return { row: presented, studyUid: study.studyInstanceUid, orthancId: id };
}

async function connect(reportId: string): Promise<EditorClient> {
  const session = (await api('POST', `/api/reports/${reportId}/session`)).json() as { token: string; document: string };
  const c = editorClient(sync.port, session.document, session.token);
  clients.push(c);
  await waitFor(() => c.synced(), 'provider synced');
  return c;
}

/** Signs what the client holds once the server holds it too. */
async function sign(reportId: string, c: EditorClient): Promise<void> {
  await untilServerHolds(sync.url, `report:${reportId}`, c.doc);
  const signed = await api('POST', `/api/reports/${reportId}/finalize`, reviewed(c.doc));
  expect(signed.statusCode, signed.body).toBe(200);
}

async function archiveRow(reportId: string) {
  return t.app.db.models.Outbox.findOne({ where: { reportId, destination: ARCHIVE_DESTINATION }, raw: true });
}

/** The text of the PDF Orthanc holds in an instance. */
async function pdfTextOf(orthancInstanceId: string): Promise<string> {
  const response = await orthanc.request(`/instances/${orthancInstanceId}/pdf`);
  expect(response.status).toBe(200);
  const file = path.join(tmp, `${orthancInstanceId}.pdf`);
  writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
}

type QidoSeries = Record<string, { Value?: unknown[] }>;

describe('signed reports in the archive', () => {
  it('a signed report is stored in its study as an Encapsulated PDF that DICOMweb lists and Orthanc hands back with the signed text', async () => {
    const { row, studyUid, orthancId } = await studyInOrthanc();
    const created = await api('POST', `/api/studies/${row.id}/report`, {});
    expect(created.statusCode, created.body).toBe(201);
    const reportId = (created.json() as Report).id;
    const c = await connect(reportId);
    appendToSection(c.doc, 'Impression', 'Archived impression: no free air.');
    await sign(reportId, c);

    await waitFor(async () => (await archiveRow(reportId))?.status === 'sent', 'archived', 30_000);
    expect((await archiveRow(reportId))!.controlId).toBe(reportInstanceUid(reportId));

    // Orthanc's own DICOMweb lists the reports series with one instance.
    const series = await orthanc.getJson<QidoSeries[]>(`/dicom-web/studies/${studyUid}/series?Modality=DOC`);
    expect(series).toHaveLength(1);
    expect(series[0]!['0020000E']!.Value).toEqual([reportSeriesUid(studyUid)]);
    expect(series[0]!['00200011']!.Value).toEqual([REPORT_SERIES_NUMBER]);
    expect(series[0]!['00201209']!.Value).toEqual([1]);
    // So does the API's DICOMweb proxy, for a viewer that asks the PACS.
    const proxied = await api('GET', `/dicom-web/studies/${studyUid}/series`);
    expect(proxied.statusCode).toBe(200);
    expect((proxied.json() as QidoSeries[]).map((s) => s['00080060']!.Value![0]).sort()).toEqual(['CT', 'DOC']);

    const instances = await orthanc.getJson<{ ID: string; MainDicomTags: Record<string, string> }[]>(`/studies/${orthancId}/instances`);
    const report = instances.find((i) => i.MainDicomTags.SOPInstanceUID === reportInstanceUid(reportId))!;
    const tags = await orthanc.getJson<Record<string, string>>(`/instances/${report.ID}/simplified-tags`);
    expect(tags).toMatchObject({
      SOPClassUID: ENCAPSULATED_PDF_STORAGE,
      Modality: 'DOC',
      PatientID: row.patientId,
      PatientName: 'Archive^Ada',
      StudyInstanceUID: studyUid,
      AccessionNumber: row.accessionNumber,
      MIMETypeOfEncapsulatedDocument: 'application/pdf',
      InstanceNumber: '1',
      DocumentTitle: 'Radiology report',
    });
    const text = await pdfTextOf(report.ID);
    expect(text).toContain('Archived impression: no free air.');
    expect(text).toContain('Electronically signed');
    expect(text).not.toContain('PRELIMINARY');

    // Orthanc calls the study changed; ingesting it again does not take the report for new images.
    await t.app.ingestion!.ingestor.ingest(orthancId, 'manual');
    const after = ((await api('GET', `/api/studies/${row.id}`)).json() as StudyDetail).study;
    expect(after.modalities).toEqual(row.modalities);
    expect(after.numberOfSeries).toBe(row.numberOfSeries);
    expect(after.numberOfInstances).toBe(row.numberOfInstances);
    expect(after.updatedAfterArrival).toBe(false);

    // An addendum: a second version in the same series, the whole report as it now stands.
    const addendum = await api('POST', `/api/reports/${reportId}/addenda`, { text: 'Addendum: compared with the outside CT.' });
    expect(addendum.statusCode, addendum.body).toBe(201);
    const addendumId = (addendum.json() as Report).id;
    await sign(addendumId, await connect(addendumId));
    await waitFor(async () => (await archiveRow(addendumId))?.status === 'sent', 'addendum archived', 30_000);
    const versions = await orthanc.getJson<QidoSeries[]>(`/dicom-web/studies/${studyUid}/series/${reportSeriesUid(studyUid)}/instances`);
    expect(versions).toHaveLength(2);
    const second = (await orthanc.getJson<{ ID: string; MainDicomTags: Record<string, string> }[]>(`/studies/${orthancId}/instances`)).find(
      (i) => i.MainDicomTags.SOPInstanceUID === reportInstanceUid(addendumId),
    )!;
    expect(second.MainDicomTags.InstanceNumber).toBe('2');
    const both = await pdfTextOf(second.ID);
    expect(both).toContain('Archived impression: no free air.');
    expect(both).toContain('Addendum: compared with the outside CT.');
    // The first version stays as it was signed.
    expect(await pdfTextOf(report.ID)).not.toContain('Addendum: compared');

    const audited = await t.app.db.models.AuditLog.findAll({
      where: { objectType: 'DICOMInstance', objectId: reportInstanceUid(reportId) },
      raw: true,
    });
    expect(audited.map((a) => [a.eventId, a.outcome])).toEqual([['Export', 0]]);
  });

  it('a report whose signed hash no longer matches its content is never archived: the delivery is refused for good, with the reason', async () => {
    const { row, studyUid } = await studyInOrthanc();
    const created = await api('POST', `/api/studies/${row.id}/report`, {});
    const reportId = (created.json() as Report).id;
    const c = await connect(reportId);
    appendToSection(c.doc, 'Impression', 'Content that will be tampered with.');
    await sign(reportId, c);
    await waitFor(async () => (await archiveRow(reportId))?.status === 'sent', 'archived', 30_000);
    // Someone edits the signed row behind the application's back; the copy is asked for again.
    await t.app.db.models.Report.update({ contentText: 'Tampered.' }, { where: { id: reportId } });
    const { models } = t.app.db;
    const destination = new ArchiveDestination(
      models,
      new PdfExport(
        t.config,
        createReportStore(t.app.db),
        new SyncClient(t.config.syncUrl, t.config.syncServiceToken, 5_000),
        t.app.reportKeys,
      ),
      t.app.ingestion!.orthanc,
      '',
      t.app.reportKeys,
    );
    const before = await orthanc.getJson<unknown[]>(`/dicom-web/studies/${studyUid}/series/${reportSeriesUid(studyUid)}/instances`);
    const delivery = await destination.deliver((await archiveRow(reportId))!);
    expect(delivery).toMatchObject({ ok: false, permanent: true, error: expect.stringMatching(/integrity alarm/) });
    const after = await orthanc.getJson<unknown[]>(`/dicom-web/studies/${studyUid}/series/${reportSeriesUid(studyUid)}/instances`);
    expect(after).toHaveLength(before.length);
  });

  it('with the archive unreachable the signature stands and the copy waits in the outbox with the reason', async () => {
    const syncPort = await freePort();
    const closed = await freePort();
    // Another API (its own database and sync-server) whose Orthanc address answers nothing.
    const unreachable = { httpUrl: `http://127.0.0.1:${closed}`, username: orthanc.username, password: orthanc.password };
    const offline = await createTestApp({ ...apiEnvFor(unreachable), ...archiveEnv(syncPort) });
    const otherSync = await startSyncServer(offline.database.url, syncPort);
    try {
      const token = (await offline.userWithToken('attending')).token;
      const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
        offline.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
      const study = await seedStudy(offline.app);
      const created = await call('POST', `/api/studies/${study.id}/report`, {});
      expect(created.statusCode, created.body).toBe(201);
      const reportId = (created.json() as Report).id;
      const session = (await call('POST', `/api/reports/${reportId}/session`)).json() as { token: string; document: string };
      const c = editorClient(otherSync.port, session.document, session.token);
      clients.push(c);
      await waitFor(() => c.synced(), 'provider synced');
      appendToSection(c.doc, 'Impression', 'Signed while the archive is down.');
      await untilServerHolds(otherSync.url, session.document, c.doc);
      const signed = await call('POST', `/api/reports/${reportId}/finalize`, reviewed(c.doc));
      expect(signed.statusCode, signed.body).toBe(200);
      const { Outbox, Report: Reports } = offline.app.db.models;
      const row = () => Outbox.findOne({ where: { reportId, destination: ARCHIVE_DESTINATION }, raw: true });
      await waitFor(async () => ((await row())?.attempts ?? 0) >= 1, 'an attempt made', 30_000);
      const waiting = (await row())!;
      expect(waiting.status).toBe('pending');
      expect(waiting.lastError).toMatch(/Orthanc unreachable/);
      expect((await Reports.findByPk(reportId, { raw: true }))!.status).toBe('final');
    } finally {
      await otherSync.stop();
      await offline.close();
    }
  });
});
