/**
 * Restricted patients with a real Orthanc: images whose DICOM Confidentiality Code (0040,1008) is
 * set (written by DCMTK's dcmodify) arrive restricted; the DICOMweb proxy refuses their metadata,
 * frames and series searches with RESTRICTED_STUDY and leaves them out of study searches, until the
 * user breaks the glass (then each access is audited with the window id).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type GeneratedStudy, generateStudy, type StudySpec } from '@pacs/test-kit/demo-studies';
import { apiEnvFor, type OrthancInstance, startOrthanc, storeFiles, waitFor } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';

let orthanc: OrthancInstance;
let t: TestApp;
let secret: GeneratedStudy;
let plain: GeneratedStudy;
let reader: { id: string; token: string };

const spec = (name: string, id: string): StudySpec => ({
  patient: { name, id, birthDate: '19800214', sex: 'F' },
  studyDate: '20261105',
  studyTime: '101500',
  accessionNumber: `ACC-${id}`,
  description: 'CT HEAD',
  priority: 'ROUTINE',
  series: [{ modality: 'CT', description: 'Axial', instances: 2, rows: 64, columns: 64 }],
});

/** The files with (0040,1008) Confidentiality Code set, as a modality or the RIS would write it. */
function withConfidentialityCode(files: Buffer[], code: string): Buffer[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bg-'));
  try {
    return files.map((bytes, i) => {
      const file = path.join(dir, `${i}.dcm`);
      writeFileSync(file, bytes);
      execFileSync('dcmodify', ['-nb', '-i', `(0040,1008)=${code}`, file]);
      return readFileSync(file);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  orthanc = await startOrthanc({ stableAge: 1 });
  t = await createTestApp({ ...apiEnvFor(orthanc), PACS_PUBLIC_URL: 'http://localhost:80' });
  secret = generateStudy(spec('Confidential^Cora', 'BG-SECRET'), 31);
  plain = generateStudy(spec('Plain^Paul', 'BG-PLAIN'), 32);
  expect((await storeFiles(orthanc, withConfidentialityCode(secret.files, 'R'))).stored).toBe(2);
  expect((await storeFiles(orthanc, plain.files)).stored).toBe(2);
  await waitFor(
    async () => {
      await t.app.ingestion!.reconciler.runOnce();
      return (await t.app.db.models.Study.count({ where: { patientId: ['BG-SECRET', 'BG-PLAIN'] } })) === 2;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'both studies ingested' },
  );
  reader = await t.userWithToken('attending');
}, 120_000);

afterAll(async () => {
  await t?.close();
  await orthanc?.stop();
});

const dicomweb = (url: string) =>
  t.app.inject({ method: 'GET', url: `/dicom-web${url}`, headers: { ...bearer(reader.token), accept: 'application/dicom+json' } });

describe('a study whose DICOM says it is confidential', () => {
  it('arrives restricted (source dicom); the one without the tag does not', async () => {
    const rows = await t.app.db.models.Study.findAll({ where: { patientId: ['BG-SECRET', 'BG-PLAIN'] }, raw: true });
    const byPatient = Object.fromEntries(
      rows.map((r) => [r.patientId, { restricted: Boolean(r.restricted), source: r.restrictionSource }]),
    );
    expect(byPatient).toEqual({ 'BG-SECRET': { restricted: true, source: 'dicom' }, 'BG-PLAIN': { restricted: false, source: null } });
  });

  it('is refused through DICOMweb and left out of searches until the glass is broken; then each access carries the window id', async () => {
    const uid = secret.studyInstanceUid;
    const series = secret.series[0]!;
    const refused = [
      `/studies/${uid}/metadata`,
      `/studies/${uid}/series`,
      `/studies/${uid}/series/${series.seriesInstanceUid}/instances/${series.sopInstanceUids[0]}/frames/1`,
    ];
    for (const url of refused) {
      const response = await dicomweb(url);
      expect(response.statusCode, url).toBe(403);
      expect(response.json().code, url).toBe('RESTRICTED_STUDY');
      expect(response.body).not.toContain('Confidential');
    }
    const search = await dicomweb('/studies?PatientID=BG-*');
    expect(search.statusCode).toBe(200);
    expect(search.body).not.toContain('BG-SECRET');
    expect(search.body).toContain('BG-PLAIN');

    const study = await t.app.db.models.Study.findOne({ where: { studyInstanceUid: uid }, raw: true });
    const opened = await t.app.inject({
      method: 'POST',
      url: `/api/studies/${study!.id}/break-glass`,
      headers: bearer(reader.token),
      payload: { reason: 'Trauma call, outside images needed for surgery' },
    });
    expect(opened.statusCode).toBe(201);
    const windowId = opened.json().id as string;
    const metadata = await dicomweb(`/studies/${uid}/metadata`);
    expect(metadata.statusCode).toBe(200);
    expect(metadata.body).toContain('BG-SECRET');
    const found = await dicomweb('/studies?PatientID=BG-*');
    expect(found.body).toContain('BG-SECRET');
    const accesses = await t.app.db.models.AuditLog.findAll({ where: { eventId: 'DICOMInstancesAccessed', studyUid: uid }, raw: true });
    expect(accesses.length).toBeGreaterThanOrEqual(1);
    expect(accesses.every((r) => (JSON.parse(r.details ?? '{}') as { emergencyAccess?: string[] }).emergencyAccess?.[0] === windowId)).toBe(
      true,
    );
  });
});
