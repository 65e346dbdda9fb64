/**
 * DICOM helpers for tests: transfer syntax sniffing, storescu proposal flags, the shared sample corpus
 * (located by PACS_DICOM_CORPUS; never copied into the repo) and invalid inputs made from generated data
 * so negative tests still mean something on a fresh clone without the corpus.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { generateStudy, type StudySpec } from '../../scripts/demo-studies';

/** TransferSyntaxUID (0002,0010) from a Part 10 file's meta header, or undefined if there is none. */
export function transferSyntaxOf(file: Buffer): string | undefined {
  if (file.length < 132 || file.toString('latin1', 128, 132) !== 'DICM') return undefined;
  let offset = 132;
  while (offset + 8 <= file.length) {
    const group = file.readUInt16LE(offset);
    const element = file.readUInt16LE(offset + 2);
    if (group !== 0x0002) return undefined;
    const vr = file.toString('latin1', offset + 4, offset + 6);
    let length: number;
    let header: number;
    if (['OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'].includes(vr)) {
      if (offset + 12 > file.length) return undefined;
      length = file.readUInt32LE(offset + 8);
      header = 12;
    } else {
      length = file.readUInt16LE(offset + 6);
      header = 8;
    }
    if (element === 0x0010) {
      return file
        .toString('latin1', offset + header, Math.min(file.length, offset + header + length))
        .replace(/[\0 ]+$/, '')
        .trim();
    }
    offset += header + length;
  }
  return undefined;
}

/** storescu flag that proposes a transfer syntax ('' = uncompressed default), undefined if storescu cannot. */
export function storescuFlagFor(transferSyntaxUid: string): string | undefined {
  const flags: Record<string, string> = {
    '1.2.840.10008.1.2': '',
    '1.2.840.10008.1.2.1': '',
    '1.2.840.10008.1.2.2': '',
    '1.2.840.10008.1.2.1.99': '-xd',
    '1.2.840.10008.1.2.4.50': '-xy',
    '1.2.840.10008.1.2.4.51': '-xx',
    '1.2.840.10008.1.2.4.70': '-xs',
    '1.2.840.10008.1.2.4.80': '-xt',
    '1.2.840.10008.1.2.4.81': '-xu',
    '1.2.840.10008.1.2.4.90': '-xv',
    '1.2.840.10008.1.2.4.91': '-xw',
    '1.2.840.10008.1.2.5': '-xr',
  };
  return flags[transferSyntaxUid];
}

// ---------------------------------------------------------------------------------------------
// The DICOM corpus PACS_DICOM_CORPUS points at (ARCHITECTURE.md, decisions): its MANIFEST.tsv lists the files.

/** The corpus folder from PACS_DICOM_CORPUS, or undefined when unset or missing. */
export function corpusDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.PACS_DICOM_CORPUS;
  if (!dir) return undefined;
  const resolved = path.resolve(dir);
  if (!existsSync(path.join(resolved, 'MANIFEST.tsv'))) {
    throw new Error(`PACS_DICOM_CORPUS=${dir}: no MANIFEST.tsv there`);
  }
  return resolved;
}

export interface ManifestRow {
  path: string;
  [column: string]: string;
}

/** MANIFEST.tsv rows (first line = column names). */
export function readManifest(dir: string): ManifestRow[] {
  const [head, ...lines] = readFileSync(path.join(dir, 'MANIFEST.tsv'), 'utf8').split('\n').filter(Boolean);
  const columns = head!.split('\t');
  return lines.map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? ''])) as ManifestRow;
  });
}

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
    .filter((row) => row.intentionally_invalid === 'yes')
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
