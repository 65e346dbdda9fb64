/**
 * The project's Orthanc configuration with real clients' requests through the DICOMweb proxy:
 * JPEG 2000 renders (GDCM plugin) and is never transcoded (GDCM's writer overflows Orthanc's HTTP
 * thread stacks: Orthanc died within a few requests), other codecs still transcode, and names in
 * Latin-1, UTF-8 and ISO 2022 IR 87 (Japanese) come back intact in QIDO, metadata and the worklist.
 * Runs without the shared corpus (JPEG 2000 made with GDCM's gdcmconv); uses it when present.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { corpusDir } from '@pacs/test-kit/corpus';
import { type GeneratedStudy, generateStudy, type PatientSpec, type StudySpec } from '@pacs/test-kit/demo-studies';
import { apiEnvFor, type OrthancInstance, startOrthanc, storeFiles, storeFilesRest, waitFor } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';

const run = promisify(execFile);
let orthanc: OrthancInstance;
let t: TestApp;
let token: string;
let dir: string;

const spec = (patient: PatientSpec, description = 'CT HEAD'): StudySpec => ({
  patient,
  studyDate: '20261105',
  studyTime: '101500',
  accessionNumber: `ACC-${patient.id}`,
  description,
  priority: 'ROUTINE',
  series: [{ modality: 'CT', description: 'Axial', instances: 1, rows: 64, columns: 64 }],
});

/** A generated slice rewritten by a command-line encoder (gdcmconv --j2k, dcmcjpls). */
async function encoded(study: GeneratedStudy, command: string, args: string[]): Promise<string> {
  const input = path.join(dir, `${study.patient.id}-in.dcm`);
  const output = path.join(dir, `${study.patient.id}-${command}.dcm`);
  await writeFile(input, study.files[0]!);
  await run(command, [...args, input, output]);
  return output;
}

function instancePath(study: GeneratedStudy): string {
  const series = study.series[0]!;
  return `/dicom-web/studies/${study.studyInstanceUid}/series/${series.seriesInstanceUid}/instances/${series.sopInstanceUids[0]}`;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pacs-codecs-'));
  orthanc = await startOrthanc({ stableAge: 1 });
  t = await createTestApp({
    ...apiEnvFor(orthanc),
  });
  token = (await t.userWithToken('attending')).token;
}, 60_000);

afterAll(async () => {
  await t?.close();
  await orthanc?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('codecs', () => {
  it('renders a JPEG 2000 frame and serves it as stored; never asks Orthanc to transcode it, which kept crashing Orthanc', async () => {
    const study = generateStudy(spec({ name: 'Codec^Jpeg2000', id: 'CODEC-J2K', birthDate: '19700101', sex: 'O' }), 41);
    const file = await encoded(study, 'gdcmconv', ['--j2k']);
    expect((await storeFilesRest(orthanc, [file])).stored).toBe(1);
    const instance = instancePath(study);

    const rendered = await t.app.inject({ url: `${instance}/frames/1/rendered`, headers: { ...bearer(token), accept: 'image/jpeg' } });
    expect(rendered.statusCode).toBe(200);
    expect(rendered.headers['content-type']).toBe('image/jpeg');
    expect(rendered.rawPayload.subarray(0, 2).toString('hex')).toBe('ffd8');

    const asStored = await t.app.inject({
      url: `${instance}/frames/1`,
      headers: { ...bearer(token), accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' },
    });
    expect(asStored.statusCode).toBe(200);
    expect(asStored.headers['content-type']).toContain('transfer-syntax=1.2.840.10008.1.2.4.90');

    for (let i = 0; i < 12; i++) {
      for (const accept of [
        'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1',
        'multipart/related; type="application/octet-stream"',
      ]) {
        const transcoded = await t.app.inject({ url: `${instance}/frames/1`, headers: { ...bearer(token), accept } });
        expect(transcoded.statusCode).toBe(406);
        expect(transcoded.json()).toMatchObject({ code: 'DICOMWEB_TRANSCODING_UNAVAILABLE' });
      }
    }
    const whole = await t.app.inject({
      url: `/dicom-web/studies/${study.studyInstanceUid}`,
      headers: { ...bearer(token), accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1' },
    });
    expect(whole.statusCode).toBe(406);
    expect(orthanc.running()).toBe(true);
    expect((await orthanc.request('/system')).status).toBe(200);
  });

  it('still transcodes what DCMTK decodes (JPEG-LS to Explicit VR Little Endian), many times over', async () => {
    const study = generateStudy(spec({ name: 'Codec^JpegLs', id: 'CODEC-JLS', birthDate: '19700101', sex: 'O' }), 42);
    expect((await storeFiles(orthanc, [await encoded(study, 'dcmcjpls', [])])).stored).toBe(1);
    for (let i = 0; i < 12; i++) {
      const frame = await t.app.inject({
        url: `${instancePath(study)}/frames/1`,
        headers: { ...bearer(token), accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1' },
      });
      expect(frame.statusCode).toBe(200);
      expect(frame.headers['content-type']).toContain('transfer-syntax=1.2.840.10008.1.2.1');
      expect(frame.rawPayload.length).toBeGreaterThan(64 * 64 * 2);
    }
    expect(orthanc.running()).toBe(true);
  });

  it(`renders JPEG 2000 and palette colour (RLE too) images (${corpusDir() ? 'generated and corpus' : 'generated only: PACS_DICOM_CORPUS unset'})`, async () => {
    const corpus = corpusDir();
    const generated = generateStudy(spec({ name: 'Codec^Render', id: 'CODEC-RENDER', birthDate: '19700101', sex: 'O' }), 43);
    const files = [await encoded(generated, 'gdcmconv', ['--j2k'])];
    if (corpus) {
      for (const name of [
        'mr-transfer-syntaxes/9.dcm',
        'pydicom/MR_small_jp2klossless.dcm',
        'pydicom/examples_palette.dcm',
        'pydicom-data/OBXXXX1A_rle_2frame.dcm',
      ]) {
        files.push(path.join(corpus, name));
      }
    }
    for (const file of files) {
      const stored = await orthanc.request('/instances', { method: 'POST', body: await readFile(file) });
      expect(stored.status, file).toBe(200);
      const { ID } = (await stored.json()) as { ID: string };
      const tags = await orthanc.getJson<Record<string, string>>(`/instances/${ID}/simplified-tags`);
      const url = `/dicom-web/studies/${tags.StudyInstanceUID}/series/${tags.SeriesInstanceUID}/instances/${tags.SOPInstanceUID}/frames/1/rendered`;
      const rendered = await t.app.inject({ url, headers: { ...bearer(token), accept: 'image/png' } });
      expect(rendered.statusCode, file).toBe(200);
      expect(rendered.headers['content-type'], file).toBe('image/png');
    }
    expect(orthanc.running()).toBe(true);
  });
});

/** PS3.5 H.3.1: Yamada^Tarou=山田^太郎=やまだ^たろう in ISO 2022 IR 87 (escape sequences into and out of JIS X 0208). */
const JAPANESE_NAME_BYTES = Buffer.from('Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B', 'latin1');

describe('character sets', () => {
  const cases: { id: string; name: string; charset?: 'ISO_IR 100' | 'ISO_IR 192'; expected: Record<string, string> }[] = [
    { id: 'CS-LATIN1', name: 'García^José', charset: 'ISO_IR 100', expected: { Alphabetic: 'García^José' } },
    { id: 'CS-POLISH', name: 'Kowalczyk^Łukasz', charset: 'ISO_IR 192', expected: { Alphabetic: 'Kowalczyk^Łukasz' } },
    { id: 'CS-VIET', name: 'Nguyễn^Văn An', charset: 'ISO_IR 192', expected: { Alphabetic: 'Nguyễn^Văn An' } },
    { id: 'CS-TURKISH', name: 'Yılmaz^Ayşe', charset: 'ISO_IR 192', expected: { Alphabetic: 'Yılmaz^Ayşe' } },
    {
      id: 'CS-JAPANESE',
      name: 'Yamada^Tarou',
      expected: { Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' },
    },
  ];

  beforeAll(async () => {
    expect(new TextDecoder('iso-2022-jp').decode(JAPANESE_NAME_BYTES)).toBe('Yamada^Tarou=山田^太郎=やまだ^たろう');
    for (const [i, c] of cases.entries()) {
      const study = generateStudy(spec({ name: c.name, id: c.id, birthDate: '19700101', sex: 'O', charset: c.charset }), 50 + i);
      let file: string | Buffer = study.files[0]!;
      if (c.id === 'CS-JAPANESE') {
        file = path.join(dir, 'japanese.dcm');
        await writeFile(file, study.files[0]!);
        await run('dcmodify', [
          '-nb',
          '-i',
          '(0008,0005)=\\ISO 2022 IR 87',
          '-i',
          `(0010,0010)=${JAPANESE_NAME_BYTES.toString('latin1')}`,
          file,
        ]);
      }
      expect((await storeFiles(orthanc, [file])).stored).toBe(1);
    }
    await waitFor(
      async () => {
        await t.app.ingestion!.reconciler.runOnce();
        return (await t.app.db.models.Study.count({ where: { patientId: cases.map((c) => c.id) } })) === cases.length;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the character set studies ingested' },
    );
  }, 60_000);

  it.each(cases.map((c) => [c.id, c]))('%s: QIDO and metadata through the proxy keep the name', async (_id, c) => {
    const qido = await t.app.inject({
      url: `/dicom-web/studies?PatientID=${c.id}`,
      headers: { ...bearer(token), accept: 'application/dicom+json' },
    });
    expect(qido.statusCode).toBe(200);
    const [row] = qido.json() as Record<string, { Value?: unknown[] }>[];
    expect(row?.['00100010']?.Value).toEqual([c.expected]);
    const studyUid = String(row?.['0020000D']?.Value?.[0]);
    for (const url of [`/dicom-web/studies/${studyUid}/metadata`, `/dicom-web/studies/${studyUid}/series`]) {
      const answer = await t.app.inject({ url, headers: { ...bearer(token), accept: 'application/dicom+json' } });
      expect(answer.statusCode, url).toBe(200);
      const [first] = answer.json() as Record<string, { Value?: unknown[] }>[];
      if (url.endsWith('/metadata')) expect(first?.['00100010']?.Value, url).toEqual([c.expected]);
    }
  });

  it('shows every name intact in the worklist', async () => {
    const list = await t.app.inject({ url: '/api/studies?limit=200', headers: bearer(token) });
    const names = new Map((list.json().items as { patientId: string; patientName: string }[]).map((s) => [s.patientId, s.patientName]));
    for (const c of cases) {
      const expected = [c.expected.Alphabetic, c.expected.Ideographic, c.expected.Phonetic].filter(Boolean).join('=');
      expect(names.get(c.id), c.id).toBe(expected);
    }
  });
});
