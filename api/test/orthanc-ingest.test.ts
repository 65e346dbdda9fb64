/**
 * Generated studies through a real Orthanc: C-STORE with storescu, tags round-trip (accented names in
 * ISO_IR 100 and ISO_IR 192, dates, modalities, counts), previews render, duplicates and late series,
 * authenticated DICOMweb.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { corpusDir } from '@pacs/test-kit/corpus';
import { demoStudySet, type GeneratedStudy, generateStudy, type StudySpec } from '@pacs/test-kit/demo-studies';
import { transferSyntaxOf } from '@pacs/test-kit/dicom-files';
import { type OrthancInstance, startOrthanc, storeFiles, storeFilesRest } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface OrthancStudy {
  ID: string;
  MainDicomTags: Record<string, string>;
  PatientMainDicomTags: Record<string, string>;
  Series: string[];
}
interface OrthancSeries {
  ID: string;
  MainDicomTags: Record<string, string>;
  Instances: string[];
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('generated studies in a real Orthanc', () => {
  let orthanc: OrthancInstance;
  const studies: GeneratedStudy[] = demoStudySet(7, { seed: 3 });

  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 1 });
    for (const study of studies) {
      const result = await storeFiles(orthanc, study.files);
      expect(result.stored, result.output).toBe(study.files.length);
    }
  });

  afterAll(async () => {
    await orthanc?.stop();
  });

  async function findStudy(studyInstanceUid: string): Promise<OrthancStudy> {
    const all = await orthanc.getJson<OrthancStudy[]>('/studies?expand');
    const found = all.find((s) => s.MainDicomTags.StudyInstanceUID === studyInstanceUid);
    if (!found) throw new Error(`study ${studyInstanceUid} not in Orthanc`);
    return found;
  }

  it('covers CT, MR, CR, US multi-frame and DX with both character sets', () => {
    const modalities = new Set(studies.flatMap((s) => s.series.map((x) => x.modality)));
    expect([...modalities].sort()).toEqual(['CR', 'CT', 'DX', 'MR', 'US']);
    const charsets = new Set(studies.map((s) => s.specificCharacterSet));
    expect(charsets.has('ISO_IR 100')).toBe(true);
    expect(charsets.has('ISO_IR 192')).toBe(true);
    expect(new Set(studies.map((s) => s.spec.priority))).toEqual(new Set(['STAT', 'HIGH', 'ROUTINE']));
  });

  it('round-trips patient, study, series and instance tags', async () => {
    for (const study of studies) {
      const found = await findStudy(study.studyInstanceUid);
      expect(found.PatientMainDicomTags.PatientName).toBe(study.patient.name);
      expect(found.PatientMainDicomTags.PatientID).toBe(study.patient.id);
      expect(found.PatientMainDicomTags.PatientBirthDate ?? '').toBe(study.patient.birthDate);
      expect(found.MainDicomTags.StudyDate).toBe(study.spec.studyDate);
      expect(found.MainDicomTags.StudyTime).toBe(study.spec.studyTime);
      expect(found.MainDicomTags.AccessionNumber).toBe(study.spec.accessionNumber);
      expect(found.MainDicomTags.StudyDescription).toBe(study.spec.description);
      expect(found.Series).toHaveLength(study.series.length);

      const series = await orthanc.getJson<OrthancSeries[]>(`/studies/${found.ID}/series`);
      for (const expected of study.series) {
        const s = series.find((x) => x.MainDicomTags.SeriesInstanceUID === expected.seriesInstanceUid);
        expect(s, `${study.spec.accessionNumber} series ${expected.seriesNumber}`).toBeDefined();
        expect(s!.MainDicomTags.Modality).toBe(expected.modality);
        expect(s!.MainDicomTags.SeriesDescription).toBe(expected.description);
        expect(s!.Instances).toHaveLength(expected.instances);
      }

      // Tags not among Orthanc's main tags, read back from the stored file.
      const [firstInstance] = await orthanc.getJson<Array<{ ID: string }>>(`/studies/${found.ID}/instances`);
      const tags = await orthanc.getJson<Record<string, string>>(`/instances/${firstInstance!.ID}/simplified-tags`);
      expect(tags.RequestedProcedurePriority).toBe(study.spec.priority);
      expect(tags.SpecificCharacterSet ?? '').toBe(study.specificCharacterSet);
      expect(tags.InstitutionName).toBe(study.spec.institution);
    }
  });

  it('keeps plausible Hounsfield units in CT (air, soft tissue, bone)', async () => {
    const ct = studies.find((s) => s.series[0]!.modality === 'CT')!;
    const found = await findStudy(ct.studyInstanceUid);
    const [first] = await orthanc.getJson<Array<{ ID: string }>>(`/studies/${found.ID}/instances`);
    const tags = await orthanc.getJson<Record<string, string>>(`/instances/${first!.ID}/simplified-tags`);
    expect(Number(tags.RescaleIntercept)).toBe(-1024);
    expect(Number(tags.RescaleSlope)).toBe(1);
    // Raw stored values through Orthanc's own decoder.
    const raw = Buffer.from(await (await orthanc.request(`/instances/${first!.ID}/frames/0/raw`)).arrayBuffer());
    const hu = Array.from({ length: raw.length / 2 }, (_, i) => raw.readUInt16LE(i * 2) - 1024);
    expect(Math.min(...hu)).toBeLessThan(-950); // air
    expect(hu.some((v) => v > 20 && v < 80)).toBe(true); // soft tissue
    expect(Math.max(...hu)).toBeGreaterThan(500); // bone
  });

  it('renders a PNG preview of every series (US multi-frame included)', async () => {
    for (const study of studies) {
      const found = await findStudy(study.studyInstanceUid);
      for (const seriesId of found.Series) {
        const series = await orthanc.getJson<OrthancSeries>(`/series/${seriesId}`);
        const response = await orthanc.request(`/instances/${series.Instances[0]}/preview`);
        const body = Buffer.from(await response.arrayBuffer());
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('image/png');
        expect(body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      }
      if (study.series[0]!.modality === 'US') {
        const series = await orthanc.getJson<OrthancSeries>(`/series/${found.Series[0]}`);
        const frames = await orthanc.getJson<unknown[]>(`/instances/${series.Instances[0]}/frames`);
        expect(frames).toHaveLength(12);
      }
    }
  });

  it('stores the same study twice without duplicates, and a late series adds to the study', async () => {
    const base: StudySpec = studies[2]!.spec;
    const again = generateStudy(base, 3);
    expect((await storeFiles(orthanc, again.files)).stored).toBe(again.files.length);
    const before = await findStudy(again.studyInstanceUid);
    expect(before.Series).toHaveLength(again.series.length);
    const instancesBefore = await orthanc.getJson<unknown[]>(`/studies/${before.ID}/instances`);
    expect(instancesBefore).toHaveLength(again.files.length);

    const late = generateStudy({ ...base, series: [...base.series, { modality: 'CR', description: 'Late addendum', instances: 1 }] }, 3);
    expect(late.studyInstanceUid).toBe(again.studyInstanceUid);
    const lateFile = late.files.at(-1)!;
    expect((await storeFilesRest(orthanc, [lateFile])).stored).toBe(1);
    const after = await findStudy(late.studyInstanceUid);
    expect(after.ID).toBe(before.ID);
    expect(after.Series).toHaveLength(before.Series.length + 1);
  });

  it('serves DICOMweb to the registered user only', async () => {
    const study = studies[0]!;
    const qido = await orthanc.request(`/dicom-web/studies?StudyInstanceUID=${study.studyInstanceUid}`, {
      headers: { accept: 'application/dicom+json' },
    });
    expect(qido.status).toBe(200);
    const [row] = (await qido.json()) as Array<Record<string, { Value?: unknown[] }>>;
    expect(row?.['0020000D']?.Value).toEqual([study.studyInstanceUid]);
    expect(row?.['00100010']?.Value).toEqual([{ Alphabetic: study.patient.name }]);

    const anonymous = await fetch(`${orthanc.httpUrl}/dicom-web/studies`);
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(`${orthanc.httpUrl}/system`, {
      headers: { authorization: `Basic ${Buffer.from(`${orthanc.username}:wrong`).toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    // The Orthanc Explorer UI is off: Orthanc's HTTP is for the API only.
    const explorer = await orthanc.request('/app/explorer.html');
    expect(explorer.status).toBe(404);
  });

  it('C-STOREs compressed transfer syntaxes with the matching storescu proposal', async () => {
    // Generated slices compressed with DCMTK's encoders; plus the corpus variants when available.
    const source = generateStudy(
      {
        ...studies[1]!.spec,
        accessionNumber: 'TS-VARIANTS',
        series: [{ modality: 'MR', description: 'codecs', instances: 3, rows: 64 }],
      },
      3,
    );
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pacs-ts-'));
    try {
      const files: string[] = [];
      const encoders = ['dcmcrle', 'dcmcjpeg', 'dcmcjpls'];
      for (const [i, encoder] of encoders.entries()) {
        const input = path.join(dir, `${i}.dcm`);
        const output = path.join(dir, `${i}-${encoder}.dcm`);
        await writeFile(input, source.files[i]!);
        await run(encoder, [input, output]);
        files.push(output);
      }
      const corpus = corpusDir();
      if (corpus) for (const n of [4, 5, 7, 9]) files.push(path.join(corpus, 'mr-transfer-syntaxes', `${n}.dcm`));
      const expected = await Promise.all(files.map(async (f) => transferSyntaxOf(await readFile(f))));
      expect(expected.slice(0, 3)).toEqual(['1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80']);

      const result = await storeFiles(orthanc, files);
      expect(result.stored, result.output).toBe(files.length);
      const found = await findStudy(source.studyInstanceUid);
      const instances = await orthanc.getJson<Array<{ ID: string }>>(`/studies/${found.ID}/instances`);
      const syntaxes = await Promise.all(
        instances.map(async (i) => (await orthanc.request(`/instances/${i.ID}/metadata/TransferSyntax`)).text()),
      );
      // Stored as sent: Orthanc accepted the compressed syntax, no transcoding on the way in.
      expect(syntaxes.sort()).toEqual(expected.slice(0, 3).sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
