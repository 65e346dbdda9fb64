/**
 * The team's DICOM corpus (ARCHITECTURE.md, decisions): a folder beside the checkout that
 * PACS_DICOM_CORPUS points at, never copied into the repository. MANIFEST.tsv lists its files, one
 * row each; this is the one reader of it. Tests use the corpus when it is there and pass without it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/**
 * The corpus folder from PACS_DICOM_CORPUS (absolute, or relative to the repository root, web/ or
 * the working directory); undefined when unset. Set but without a MANIFEST.tsv is an error, not a skip.
 */
export function corpusDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env.PACS_DICOM_CORPUS;
  if (!raw) return undefined;
  const candidates = path.isAbsolute(raw) ? [raw] : [path.resolve(ROOT, raw), path.resolve(ROOT, 'web', raw), path.resolve(raw)];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'MANIFEST.tsv')));
  if (!found) throw new Error(`PACS_DICOM_CORPUS=${raw}: no MANIFEST.tsv in ${candidates.join(' or ')}`);
  return found;
}

/** One MANIFEST.tsv row. */
export interface CorpusFile {
  /** Relative to the corpus folder. */
  path: string;
  modality: string;
  sopClassUid: string;
  transferSyntax: string;
  transferSyntaxUid: string;
  /** "ROWSxCOLS", empty for objects without pixels. */
  size: string;
  frames: number;
  patientId: string;
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  /** Deliberately broken (the corpus's invalid/ files). */
  invalid: boolean;
}

export function readManifest(dir: string): CorpusFile[] {
  const [header, ...lines] = readFileSync(path.join(dir, 'MANIFEST.tsv'), 'utf8').trimEnd().split('\n');
  const names = header!.split('\t');
  const col = (cells: string[], name: string) => cells[names.indexOf(name)] ?? '';
  return lines
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const cells = line.split('\t');
      return {
        path: col(cells, 'path'),
        modality: col(cells, 'modality'),
        sopClassUid: col(cells, 'sop_class_uid'),
        transferSyntax: col(cells, 'transfer_syntax'),
        transferSyntaxUid: col(cells, 'transfer_syntax_uid'),
        size: col(cells, 'rows_x_cols'),
        frames: Number(col(cells, 'frames')) || 0,
        patientId: col(cells, 'patient_id'),
        studyUid: col(cells, 'study_instance_uid'),
        seriesUid: col(cells, 'series_instance_uid'),
        sopUid: col(cells, 'sop_instance_uid'),
        invalid: col(cells, 'intentionally_invalid') === 'yes',
      };
    });
}
