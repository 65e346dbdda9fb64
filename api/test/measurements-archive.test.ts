/**
 * Measurements and key images leave for the archive, with real parts: a CT C-STOREd into a real
 * Orthanc and ingested; the study's measurements become a DICOM SR Measurement Report (TID 1500)
 * and its key images a Key Object Selection, both stored in the study, listed over DICOMweb (also
 * through the API's proxy), readable by DCMTK's dsrdump, and never counted as new images when the
 * study is ingested again. The report PDF prints the key images as thumbnails Orthanc renders.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateStudy } from '@pacs/test-kit/demo-studies';
import { apiEnvFor, type OrthancInstance, startOrthanc, storeFiles } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyImageThumbnails } from '../src/measurements/pdf-key-images';
import { renderReportPdf } from '../src/reports/pdf';
import { bearer, createTestApp, type TestApp } from './support/app';

let orthanc: OrthancInstance;
let t: TestApp;
let resident: { id: string; token: string };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pacs-measurements-'));
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface StoredStudy {
  studyId: string;
  studyUid: string;
  orthancId: string;
  seriesUid: string;
  sops: string[];
}
let study: StoredStudy;

beforeAll(async () => {
  orthanc = await startOrthanc({ stableAge: 1 });
  t = await createTestApp({ ...apiEnvFor(orthanc), PACS_RECONCILE_INTERVAL_SECONDS: '0' });
  resident = await t.userWithToken('resident');
  const generated = generateStudy(
    {
      patient: { name: 'Measure^Mia', id: `MEA${Date.now().toString(36)}`, birthDate: '19700101', sex: 'F' },
      studyDate: '20261204',
      studyTime: '091500',
      accessionNumber: `ACCM${Date.now().toString(36)}`.slice(0, 16),
      description: 'CT chest',
      priority: 'ROUTINE',
      series: [{ modality: 'CT', description: 'axial', instances: 2, rows: 64, columns: 64 }],
    },
    71,
  );
  const stored = await storeFiles(orthanc, generated.files);
  expect(stored.failed, stored.output).toBe(0);
  const orthancId = await lookup(generated.studyInstanceUid, 'Study');
  await t.app.ingestion!.ingestor.ingest(orthancId, 'manual');
  const { models } = t.app.db;
  const row = (await models.Study.findOne({ where: { studyInstanceUid: generated.studyInstanceUid }, raw: true }))!;
  const series = (await models.Series.findOne({ where: { studyRef: row.id }, raw: true }))!;
  const instances = await models.Instance.findAll({ where: { seriesRef: series.id }, order: [['instanceNumber', 'ASC']], raw: true });
  study = {
    studyId: row.id,
    studyUid: generated.studyInstanceUid,
    orthancId,
    seriesUid: series.seriesInstanceUid,
    sops: instances.map((i) => i.sopInstanceUid),
  };
}, 120_000);
afterAll(async () => {
  await t?.close();
  await orthanc?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function lookup(uid: string, type: 'Study' | 'Instance'): Promise<string> {
  const found = await orthanc.request('/tools/lookup', { method: 'POST', body: uid });
  const hit = ((await found.json()) as { ID: string; Type: string }[]).find((r) => r.Type === type);
  if (!hit) throw new Error(`${type} ${uid} not in Orthanc`);
  return hit.ID;
}

const post = (url: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: bearer(resident.token), ...(payload ? { payload } : {}) });

type Tags = Record<string, { Name: string; Type: string; Value: unknown }>;
/** A tag's value by keyword in Orthanc's /tags answer (sequences as arrays of such objects). */
function value(tags: Tags, keyword: string): unknown {
  return Object.values(tags).find((t) => t.Name === keyword)?.Value;
}

describe('measurements and key images in the archive', () => {
  it('exports the measurements as a TID 1500 SR in the study, readable by DCMTK and listed over DICOMweb', async () => {
    const length = {
      id: randomUUID(),
      tool: 'Length',
      seriesInstanceUid: study.seriesUid,
      sopInstanceUid: study.sops[1]!,
      frame: 1,
      label: 'Lesion',
      points: [
        [10.5, 12.5],
        [30.5, 40.5],
      ],
      values: { length: 23.4 },
      units: { length: 'mm' },
    };
    const ellipse = {
      ...length,
      id: randomUUID(),
      tool: 'EllipticalROI',
      label: 'Node',
      points: [
        [20, 30],
        [20, 10],
        [15, 20],
        [25, 20],
      ],
      values: { majorAxis: 29.7, minorAxis: 14.8, mean: 40.2, stdDev: 9.8, area: 345.1 },
      units: { length: 'mm', area: 'mm²', modality: 'HU' },
    };
    for (const m of [length, ellipse]) expect((await post(`/api/studies/${study.studyId}/measurements`, m)).statusCode).toBe(201);

    const exported = await post(`/api/studies/${study.studyId}/measurements/dicom-sr`);
    expect(exported.statusCode, exported.body).toBe(200);
    const { sopInstanceUid, seriesInstanceUid, items } = exported.json();
    expect(items).toBe(2);
    const instanceId = await lookup(sopInstanceUid, 'Instance');
    const tags = (await orthanc.getJson<Tags>(`/instances/${instanceId}/tags`)) as Tags;
    expect(value(tags, 'Modality')).toBe('SR');
    expect(value(tags, 'StudyInstanceUID')).toBe(study.studyUid);
    expect(value(tags, 'SOPClassUID')).toBe('1.2.840.10008.5.1.4.1.1.88.22');
    const template = value(tags, 'ContentTemplateSequence') as Tags[];
    expect(value(template[0]!, 'TemplateIdentifier')).toBe('1500');

    // DCMTK reads the structure: the groups, their values, units and image references.
    const file = path.join(tmp, 'sr.dcm');
    writeFileSync(file, Buffer.from(await (await orthanc.request(`/instances/${instanceId}/file`)).arrayBuffer()));
    const dump = execFileSync('dsrdump', ['-Ee', '+Pc', '+Pu', '+Psu', '+Pl', file], { encoding: 'utf8' });
    expect(dump).toContain('Imaging Measurement Report');
    expect(dump).toMatch(/Measurement Group/);
    expect(dump).toMatch(/Tracking Identifier.*"Lesion"/);
    expect(dump).toMatch(/\(410668003,SCT,"Length"\)="23\.4" \(mm,UCUM,"millimeter"\)/);
    expect(dump).toMatch(/Mean.*"40\.2" \(\[hnsf'U\],UCUM,"Hounsfield unit"\)/);
    expect(dump).toMatch(/SCOORD.*ELLIPSE/);
    expect(dump).toContain(study.sops[1]!);

    // The same measurements again: the same instance, nothing new stored.
    expect((await post(`/api/studies/${study.studyId}/measurements/dicom-sr`)).json().sopInstanceUid).toBe(sopInstanceUid);

    // Listed over DICOMweb, also through the API's proxy.
    const series = await t.app.inject({ url: `/dicom-web/studies/${study.studyUid}/series`, headers: bearer(resident.token) });
    expect(series.statusCode).toBe(200);
    const listed = (series.json() as Record<string, { Value?: unknown[] }>[]).map((s) => s['0020000E']?.Value?.[0]);
    expect(listed).toContain(seriesInstanceUid);

    const audit = await t.app.db.models.AuditLog.findOne({ where: { eventId: 'Export', objectId: sopInstanceUid }, raw: true });
    expect(audit).toMatchObject({ action: 'E', studyUid: study.studyUid, userId: resident.id });
  });

  it('exports the key images as a Key Object Selection; re-ingesting counts neither document as images', async () => {
    const flagged = await post(`/api/studies/${study.studyId}/key-images`, {
      id: randomUUID(),
      seriesInstanceUid: study.seriesUid,
      sopInstanceUid: study.sops[0]!,
      frame: 1,
      note: 'Largest node',
    });
    expect(flagged.statusCode).toBe(201);
    const exported = await post(`/api/studies/${study.studyId}/key-images/dicom-kos`);
    expect(exported.statusCode, exported.body).toBe(200);
    const instanceId = await lookup(exported.json().sopInstanceUid, 'Instance');
    const file = path.join(tmp, 'ko.dcm');
    writeFileSync(file, Buffer.from(await (await orthanc.request(`/instances/${instanceId}/file`)).arrayBuffer()));
    const dump = execFileSync('dsrdump', ['-Ee', '+Pc', '+Pu', '+Psu', '+Pl', file], { encoding: 'utf8' });
    expect(dump).toContain('Key Object Selection');
    expect(dump).toContain('Of Interest');
    expect(dump).toContain('Largest node');
    expect(dump).toContain(study.sops[0]!);

    await t.app.ingestion!.ingestor.ingest(study.orthancId, 'manual');
    const row = (await t.app.db.models.Study.findByPk(study.studyId, { raw: true }))!;
    expect(row.numberOfSeries).toBe(1);
    expect(row.numberOfInstances).toBe(2);
    expect(Boolean(row.updatedAfterArrival)).toBe(false);
  });

  it('refuses an export with nothing the archive holds (409) and an unknown study (404)', async () => {
    const other = (
      await t.app.db.models.Study.create({
        studyInstanceUid: `1.2.826.0.1.3680043.10.${Date.now()}.9`,
        patientRef: (await t.app.db.models.Study.findByPk(study.studyId, { raw: true }))!.patientRef,
        patientName: 'Measure^Mia',
        patientId: 'X',
        accessionNumber: 'X',
        receivedAt: new Date(),
      })
    ).get();
    const none = await post(`/api/studies/${other.id}/key-images/dicom-kos`);
    expect(none.statusCode).toBe(409);
    expect(none.json().code).toBe('NOTHING_TO_EXPORT');
    expect((await post(`/api/studies/${randomUUID()}/measurements/dicom-sr`)).statusCode).toBe(404);
  });

  it('prints the key images in the report PDF as thumbnails Orthanc renders', async () => {
    const thumbnails = await new KeyImageThumbnails(t.app.db.models, t.app.ingestion!.orthanc).forStudy(study.studyId);
    expect(thumbnails).toHaveLength(1);
    expect(thumbnails[0]!.caption).toBe('Series 1 image 1');
    expect(thumbnails[0]!.image!.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const pdf = await renderReportPdf({
      reportId: '6a1e4f1c-3b2a-4c5d-8e9f-0a1b2c3d4e5f',
      institutionName: 'Test Hospital',
      patient: { name: 'Measure^Mia', id: 'P1', birthDate: null, sex: null },
      study: { description: 'CT chest', date: '20261204', accession: 'A1', modalities: ['CT'], referringPhysician: '' },
      status: 'final',
      preliminary: false,
      integrityAlarm: false,
      report: { title: 'Report', doc: { type: 'doc', content: [] }, signatures: [] },
      addenda: [],
      keyImages: [...thumbnails, { caption: 'Series 1 image 2', note: '', image: null }],
      generatedAt: new Date(),
    });
    const file = path.join(tmp, 'report.pdf');
    writeFileSync(file, pdf);
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain('Key images');
    expect(text).toContain('Series 1 image 1 — Largest node');
    expect(text).toContain('image unavailable');
    const images = execFileSync('pdfimages', ['-list', file], { encoding: 'utf8' }).trim().split('\n').slice(2);
    expect(images).toHaveLength(1);
  });
});
