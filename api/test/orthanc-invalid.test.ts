/**
 * Bad input to a real Orthanc: non-DICOM, truncated and corrupt files are refused (REST and C-STORE),
 * nothing is indexed, Orthanc keeps running. Uses the corpus's invalid/ files when PACS_DICOM_CORPUS is set,
 * and always the invalid files made from generated data (so a fresh clone still tests something real).
 */

import { corpusDir } from '@pacs/test-kit/corpus';
import { generateStudy } from '@pacs/test-kit/demo-studies';
import { type OrthancInstance, startOrthanc, storeFiles, storeFilesRest, waitFor } from '@pacs/test-kit/orthanc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusInvalidSamples, generatedInvalidSamples, type InvalidSample } from './support/dicom';

const corpus = corpusDir();
const samples: InvalidSample[] = [...generatedInvalidSamples(), ...(corpus ? corpusInvalidSamples(corpus) : [])];
const mustReject = samples.filter((s) => s.mustBeRejected);

describe(`invalid files sent to Orthanc (${corpus ? 'corpus + generated' : 'generated only: PACS_DICOM_CORPUS unset'})`, () => {
  let orthanc: OrthancInstance;
  const valid = generateStudy(
    {
      patient: { name: 'Baseline^Valid', id: 'PACS-BASELINE', birthDate: '19750505', sex: 'M' },
      studyDate: '20261120',
      studyTime: '080000',
      accessionNumber: 'BASELINE-1',
      description: 'Baseline before invalid input',
      priority: 'ROUTINE',
      series: [{ modality: 'CT', description: 'Axial', instances: 3, rows: 64 }],
    },
    21,
  );

  const state = async () => ({
    instances: (await orthanc.getJson<string[]>('/instances')).length,
    lastChange: (await orthanc.getJson<{ Last: number }>('/changes?limit=0')).Last,
  });

  beforeAll(async () => {
    orthanc = await startOrthanc({ stableAge: 1 });
    expect((await storeFiles(orthanc, valid.files)).stored).toBe(3);
    // Let the baseline settle (its STABLE_* changes) so the change counter only moves on new input.
    await waitFor(
      async () => {
        const patients = await orthanc.getJson<Array<{ IsStable: boolean }>>('/patients?expand');
        const studies = await orthanc.getJson<Array<{ IsStable: boolean }>>('/studies?expand');
        return [...patients, ...studies].every((r) => r.IsStable);
      },
      { timeoutMs: 15_000, what: 'the baseline study to become stable' },
    );
  });

  afterAll(async () => {
    await orthanc?.stop();
  });

  it('has the expected negative samples', () => {
    expect(mustReject.length).toBeGreaterThanOrEqual(7);
    if (corpus) expect(samples.filter((s) => s.name.startsWith('made_')).length).toBe(7);
  });

  it('refuses unparseable files over REST with a 4xx and indexes nothing', async () => {
    const before = await state();
    for (const sample of mustReject) {
      const result = await storeFilesRest(orthanc, [sample.bytes]);
      expect(result.stored, `${sample.name}: ${result.output}`).toBe(0);
      expect(result.output, sample.name).toMatch(/HTTP 4\d\d/);
    }
    expect(await state()).toEqual(before);
    expect((await orthanc.request('/system')).status).toBe(200);
  });

  it('stores nothing when storescu is given the same files', async () => {
    const before = await state();
    // storescu refuses to send most of them (it parses each file first); either way nothing may be stored.
    const result = await storeFiles(
      orthanc,
      mustReject.map((s) => s.bytes),
      { transferSyntaxFlags: [] },
    );
    expect(result.stored, result.output).toBe(0);
    expect(await state()).toEqual(before);
  });

  it('survives the parseable "robustness" files and keeps the valid study intact', async () => {
    for (const sample of samples.filter((s) => !s.mustBeRejected)) {
      const response = await orthanc.request('/instances', { method: 'POST', body: sample.bytes });
      await response.arrayBuffer();
      // Accepted or refused, but never a server error.
      expect(response.status, sample.name).toBeLessThan(500);
    }
    expect(orthanc.running()).toBe(true);
    const studies = await orthanc.getJson<Array<{ MainDicomTags: { StudyInstanceUID: string }; Series: string[] }>>('/studies?expand');
    const baseline = studies.find((s) => s.MainDicomTags.StudyInstanceUID === valid.studyInstanceUid);
    expect(baseline?.Series).toHaveLength(1);
    const log = await orthanc.log();
    expect(log).not.toMatch(/Segmentation fault|Uncaught exception/);
  });
});
