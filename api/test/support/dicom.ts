/**
 * Invalid DICOM inputs for the API's ingestion tests: the corpus's deliberately broken files when
 * PACS_DICOM_CORPUS is there, and broken files made from generated data, so negative tests still
 * mean something on a fresh clone without the corpus.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readManifest } from '@pacs/test-kit/corpus';
import { generateStudy, type StudySpec } from '@pacs/test-kit/demo-studies';

export interface InvalidSample {
  name: string;
  bytes: Buffer;
  /**
   * True when Orthanc must refuse it: the file is not parseable DICOM (dcmdump fails). The corpus also
   * holds "robustness" files that parse (no meta header, corrupt codestream, odd sequence encoding):
   * Orthanc may accept those, so tests only require that it survives them.
   */
  mustBeRejected: boolean;
}

/** Corpus files in invalid/ that dcmdump cannot parse (README: "fails"): Orthanc must refuse these. */
const CORPUS_UNPARSEABLE = new Set([
  'MR_truncated.dcm',
  'rtplan_truncated.dcm',
  'no_meta.dcm',
  'emri_small_jpeg_2k_lossless_too_short.dcm',
  'made_truncated_pixeldata_ct.dcm',
  'made_truncated_in_meta_ct.dcm',
  'made_bad_magic_ct.dcm',
  'made_preamble_only.dcm',
  'made_not_dicom_text.dcm',
  'made_random_bytes.dcm',
  'made_empty.dcm',
]);

export function corpusInvalidSamples(dir: string): InvalidSample[] {
  return readManifest(dir)
    .filter((row) => row.invalid)
    .map((row) => {
      const file = path.join(dir, row.path);
      const name = path.basename(row.path);
      return {
        name,
        bytes: statSync(file).size === 0 ? Buffer.alloc(0) : readFileSync(file),
        mustBeRejected: CORPUS_UNPARSEABLE.has(name),
      };
    });
}

const INVALID_BASE_SPEC: StudySpec = {
  patient: { name: 'Invalid^Sample', id: 'PACS-INVALID', birthDate: '19700101', sex: 'O' },
  studyDate: '20260101',
  studyTime: '120000',
  accessionNumber: 'INVALID-1',
  description: 'CT for invalid-file tests',
  priority: 'ROUTINE',
  series: [{ modality: 'CT', description: 'one slice', instances: 1, rows: 64 }],
};

/** Invalid inputs made from a generated CT slice (no corpus needed); all must be refused. */
export function generatedInvalidSamples(seed = 7): InvalidSample[] {
  const valid = generateStudy(INVALID_BASE_SPEC, seed).files[0]!;
  const badMagic = Buffer.from(valid);
  badMagic.write('DICX', 128, 'latin1');
  let state = seed >>> 0;
  const random = Buffer.alloc(4096);
  for (let i = 0; i < random.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    random[i] = state >>> 24;
  }
  return [
    { name: 'generated_truncated_pixeldata.dcm', bytes: valid.subarray(0, valid.length - 2000), mustBeRejected: true },
    { name: 'generated_truncated_in_meta.dcm', bytes: valid.subarray(0, 180), mustBeRejected: true },
    { name: 'generated_bad_magic.dcm', bytes: badMagic, mustBeRejected: true },
    { name: 'generated_preamble_only.dcm', bytes: Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1')]), mustBeRejected: true },
    {
      name: 'generated_not_dicom.txt',
      bytes: Buffer.from('This is a radiology report, not a DICOM file.\n', 'utf8'),
      mustBeRejected: true,
    },
    { name: 'generated_random_bytes.dcm', bytes: random, mustBeRejected: true },
    { name: 'generated_empty.dcm', bytes: Buffer.alloc(0), mustBeRejected: true },
  ];
}
