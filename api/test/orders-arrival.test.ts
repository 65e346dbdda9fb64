/**
 * Images meet their order, with real parts: the order arrives over MLLP (independent client), the
 * images are sent with DCMTK's storescu to a real Orthanc and ingested. The scheduled worklist row
 * becomes the study (same row, now unread, the order's priority and indication kept) whether the
 * images carry the scheduled Study Instance UID (taken from the worklist) or only the accession.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorklistPage, WorklistStudy } from '@pacs/shared';
import { generateStudy } from '@pacs/test-kit/demo-studies';
import { apiEnvFor, type OrthancInstance, startOrthanc, storeFiles } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { ackOf, sample, sendWithClient, uniqueOrderValues } from './support/hl7';

const run = promisify(execFile);

let orthanc: OrthancInstance;
let t: TestApp;
let port: number;
let token: string;
let workDir: string;

beforeAll(async () => {
  orthanc = await startOrthanc({ stableAge: 1 });
  t = await createTestApp({ ...apiEnvFor(orthanc), PACS_HL7_PORT: '0', PACS_RECONCILE_INTERVAL_SECONDS: '0' });
  port = await t.app.hl7.listen();
  token = (await t.userWithToken('attending')).token;
  workDir = await mkdtemp(path.join(os.tmpdir(), 'pacs-arrival-'));
}, 60_000);
afterAll(async () => {
  await t?.close();
  await orthanc?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function rowsFor(accession: string): Promise<WorklistStudy[]> {
  const response = await t.app.inject({ method: 'GET', url: `/api/studies?q=${accession}`, headers: bearer(token) });
  return (response.json() as WorklistPage).items.filter((s) => s.accessionNumber === accession);
}

/** A two-image CT for the order's patient and accession, written to disk (optionally with another Study Instance UID). */
async function imagesFor(v: ReturnType<typeof uniqueOrderValues>, studyUid?: string): Promise<string[]> {
  const study = generateStudy(
    {
      patient: { name: 'Doe^Jane', id: v.MRN, birthDate: '19610412', sex: 'F' },
      studyDate: '20261205',
      studyTime: '090000',
      accessionNumber: v.ACCESSION,
      description: 'CT chest',
      priority: 'ROUTINE',
      series: [{ modality: 'CT', description: 'axial', instances: 2, rows: 64, columns: 64 }],
    },
    7,
  );
  const files: string[] = [];
  for (const [i, data] of study.files.entries()) {
    const file = path.join(workDir, `${v.ACCESSION}-${i}.dcm`);
    await writeFile(file, data);
    if (studyUid) await run('dcmodify', ['-nb', '-m', `(0020,000D)=${studyUid}`, file]);
    files.push(file);
  }
  return files;
}

/** Ingests the Orthanc study with this accession now (the reconciler would, once Orthanc calls it stable). */
async function ingest(accession: string, patientId: string): Promise<void> {
  const studies =
    await orthanc.getJson<{ ID: string; MainDicomTags: Record<string, string>; PatientMainDicomTags: Record<string, string> }[]>(
      '/studies?expand',
    );
  const study = studies.find((s) => s.MainDicomTags.AccessionNumber === accession && s.PatientMainDicomTags.PatientID === patientId);
  if (!study) throw new Error(`no study with accession ${accession} in Orthanc`);
  await t.app.ingestion!.ingestor.ingest(study.ID, 'manual');
}

describe('orders meet their images', () => {
  it.each([
    ['the scheduled Study Instance UID (the modality took it from the worklist)', true],
    ['only the accession number (typed in at the console)', false],
  ])('images carrying %s turn the scheduled row into the study and the order into arrived', async (_label, withScheduledUid) => {
    const v = uniqueOrderValues();
    const ack = ackOf(await sendWithClient(port, sample('orm-o01-control.hl7', { ...v, ORDER_CONTROL: 'NW', PRIORITY: 'S' })));
    expect(ack.code).toBe('AA');
    const [scheduled] = await rowsFor(v.ACCESSION);
    expect(scheduled).toMatchObject({ status: 'scheduled', numberOfInstances: 0, priority: 'stat' });

    const files = await imagesFor(v, withScheduledUid ? scheduled!.studyInstanceUid : undefined);
    const stored = await storeFiles(orthanc, files);
    expect(stored.stored, stored.output).toBe(2);
    await ingest(v.ACCESSION, v.MRN);

    const rows = await rowsFor(v.ACCESSION);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: scheduled!.id,
      status: 'unread',
      numberOfInstances: 2,
      priority: 'stat',
      indication: 'Follow-up of nodule',
      updatedAfterArrival: false,
      orderMatch: 'matched',
    });
    if (withScheduledUid) expect(rows[0]!.studyInstanceUid).toBe(scheduled!.studyInstanceUid);
    else expect(rows[0]!.studyInstanceUid).not.toBe(scheduled!.studyInstanceUid);
    const order = await t.app.db.models.Order.findOne({ where: { accessionNumber: v.ACCESSION }, raw: true });
    expect(order?.status).toBe('arrived');
  });

  it('images under the accession of another patient’s order do not take that order: they list as their own study', async () => {
    const v = uniqueOrderValues();
    expect(ackOf(await sendWithClient(port, sample('orm-o01-control.hl7', { ...v, ORDER_CONTROL: 'NW', PRIORITY: 'R' }))).code).toBe('AA');
    const files = await imagesFor({ ...v, MRN: `${v.MRN}X` });
    expect((await storeFiles(orthanc, files)).stored).toBe(2);
    await ingest(v.ACCESSION, `${v.MRN}X`);
    const rows = await rowsFor(v.ACCESSION);
    expect(rows.map((r) => [r.status, r.patientId]).sort()).toEqual([
      ['scheduled', v.MRN],
      ['unread', `${v.MRN}X`],
    ]);
    expect((await t.app.db.models.Order.findOne({ where: { accessionNumber: v.ACCESSION }, raw: true }))?.status).toBe('scheduled');
    // Orders are received here, so images without one wait for a person to reconcile them.
    expect(rows.find((r) => r.status === 'unread')?.orderMatch).toBe('unmatched');
  });
});
