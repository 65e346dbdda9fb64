/**
 * Synthetic but realistic DICOM studies for demos and tests (dcmjs, Part 10, Explicit VR Little Endian).
 *
 * - CT with plausible Hounsfield units (stored = HU + 1024, RescaleIntercept -1024): chest or head phantom.
 * - MR head (T1/T2-like contrasts), CR/DX chest, US multi-frame cine.
 * - Varied patients with accented names: ISO_IR 192 (UTF-8) where needed, some ISO_IR 100 (Latin-1).
 * - A priority hint in RequestedProcedurePriority (0040,1003): STAT, HIGH or ROUTINE.
 *
 * Deterministic: the same spec and seed give byte-identical files with the same UIDs. UIDs derive from
 * (seed, patient id, accession number) and the series index, so a spec with one more series appended
 * gives the same study with a new ("late") series, and regenerating a spec gives exact duplicates.
 *
 * CLI:
 *   tsx test-kit/src/demo-studies/cli.ts --orthanc http://user:pass@127.0.0.1:8042 --count 8 [--seed 1]
 *   tsx test-kit/src/demo-studies/cli.ts --out DIR --count 8
 * Without user:pass in the URL, PACS_ORTHANC_USER / PACS_ORTHANC_PASSWORD are used.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoStudySpecs, formatDate } from './catalogue';
import { generateStudy } from './study';
import { parseOrthancUrl, uploadToOrthanc, writeStudyFiles } from './upload';

async function main(argv: string[]): Promise<void> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!;
    if (!key.startsWith('--')) throw new Error(`unexpected argument ${key}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${key} needs a value`);
    args.set(key, value);
    i++;
  }
  const count = Number(args.get('--count') ?? 8);
  const seed = Number(args.get('--seed') ?? 1);
  if (!Number.isInteger(count) || count < 1 || count > 10000) throw new Error('--count: an integer from 1 to 10000');
  if (!Number.isInteger(seed)) throw new Error('--seed: an integer');
  const today = args.get('--today') === 'now' ? formatDate(new Date()) : args.get('--today');
  const orthanc = args.get('--orthanc');
  const out = args.get('--out');
  if (!orthanc && !out) {
    throw new Error(
      'usage: demo-studies.ts (--orthanc http://user:pass@host:8042 | --out DIR) [--count 8] [--seed 1] [--today YYYYMMDD|now]',
    );
  }
  const target = orthanc ? parseOrthancUrl(orthanc) : undefined;
  let instances = 0;
  for (const spec of demoStudySpecs(count, { seed, today })) {
    // One study at a time keeps memory flat for large counts.
    const study = generateStudy(spec, seed);
    if (target) instances += await uploadToOrthanc(target, study.files);
    if (out) instances += (await writeStudyFiles(path.resolve(out), study)).length;
    process.stdout.write(
      `${spec.accessionNumber} ${spec.priority.padEnd(7)} ${study.series.map((s) => `${s.modality}×${s.instances}`).join(' ')} ${spec.description}\n`,
    );
  }
  process.stdout.write(`${count} studies, ${instances} instances ${target ? `stored into ${target.url}` : `written to ${out}`}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
