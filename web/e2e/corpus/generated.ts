/** Without the corpus: files made here with DCMTK from a generated CT, one per transfer syntax. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TOOL_PACKAGES } from '../j2k-references';
import { type Case, LOSSY, ownReference, TS } from './cases';

// ---------------------------------------------------------------------------------------------
// Without the corpus: files made here with DCMTK

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw new Error(`${command} (Debian package ${TOOL_PACKAGES[command] ?? 'dcmtk'}): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.stdout}`);
}

/** A 24-bit BMP (bottom-up rows, BGR) of a colour test pattern: red and green ramps, a blue checkerboard. */
export function colourBmp(width: number, height: number): Buffer {
  const rowBytes = Math.ceil((width * 3) / 4) * 4;
  const out = Buffer.alloc(54 + rowBytes * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(rowBytes * height, 34);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const r = Math.round((255 * x) / (width - 1));
      const g = Math.round((255 * y) / (height - 1));
      const b = (Math.floor(x / 16) + Math.floor(y / 16)) % 2 ? 200 : 40;
      out[row + x * 3] = b;
      out[row + x * 3 + 1] = g;
      out[row + x * 3 + 2] = r;
    }
  }
  return out;
}

interface GeneratedFile {
  name: string;
  ts: string;
  label: string;
  /** Made from another generated file with this tool (else written here). */
  from?: string;
  tool?: string;
  args?: string[];
  /** The file it was made from is a reference too (an encoding DCMTK cannot decode). */
  twin?: boolean;
}

/**
 * Generated files (no corpus): a synthetic CT (the test kit's demo studies) in explicit LE, big endian,
 * deflated, RLE, JPEG lossless and JPEG-LS lossless (DCMTK's dcmconv/dcmcrle/dcmcjpeg/dcmcjpls), and a
 * colour image (img2dcm from a BMP) as RGB and as lossy JPEG baseline YBR_FULL_422; JPEG 2000 from GDCM's
 * encoder (no tool here encodes HTJ2K: OpenJPEG 2.5.0 only decodes it): the CT lossless and the colour
 * image lossy (rate 20), each compared with GDCM's decoding and with the file it was made from.
 */
const GENERATED_FILES: GeneratedFile[] = [
  { name: 'ct-explicit-le.dcm', ts: TS.explicitLE, label: 'Explicit VR Little Endian' },
  { name: 'rgb-explicit-le.dcm', ts: TS.explicitLE, label: 'Explicit VR Little Endian (RGB)' },
  {
    name: 'ct-big-endian.dcm',
    from: 'ct-explicit-le.dcm',
    tool: 'dcmconv',
    args: ['+tb'],
    ts: TS.explicitBE,
    label: 'Explicit VR Big Endian',
  },
  {
    name: 'ct-implicit-le.dcm',
    from: 'ct-explicit-le.dcm',
    tool: 'dcmconv',
    args: ['+ti'],
    ts: TS.implicitLE,
    label: 'Implicit VR Little Endian',
  },
  {
    name: 'ct-deflated.dcm',
    from: 'ct-explicit-le.dcm',
    tool: 'dcmconv',
    args: ['+td'],
    ts: TS.deflatedLE,
    label: 'Deflated Explicit VR LE',
  },
  { name: 'ct-rle.dcm', from: 'ct-explicit-le.dcm', tool: 'dcmcrle', args: [], ts: TS.rle, label: 'RLE Lossless' },
  {
    name: 'ct-jpeg-lossless.dcm',
    from: 'ct-explicit-le.dcm',
    tool: 'dcmcjpeg',
    args: ['+e1'],
    ts: TS.jpegLosslessSV1,
    label: 'JPEG Lossless SV1',
  },
  { name: 'ct-jpeg-ls.dcm', from: 'ct-explicit-le.dcm', tool: 'dcmcjpls', args: ['+el'], ts: TS.jlsLossless, label: 'JPEG-LS Lossless' },
  {
    name: 'rgb-jpeg-baseline.dcm',
    from: 'rgb-explicit-le.dcm',
    tool: 'dcmcjpeg',
    args: ['+eb'],
    ts: TS.jpegBaseline,
    label: 'JPEG Baseline (YBR_FULL_422)',
  },
  {
    name: 'ct-j2k-lossless.dcm',
    from: 'ct-explicit-le.dcm',
    tool: 'gdcmconv',
    args: ['--j2k'],
    ts: TS.j2kLossless,
    label: 'JPEG 2000 Lossless Only (GDCM)',
    twin: true,
  },
  {
    name: 'rgb-j2k.dcm',
    from: 'rgb-explicit-le.dcm',
    tool: 'gdcmconv',
    // At rate 10 this smooth pattern still decodes to the original exactly; at 20 it does not (up to 3 levels).
    args: ['--j2k', '--lossy', '-r', '20'],
    ts: TS.j2k,
    label: 'JPEG 2000 lossy, rate 20 (GDCM)',
    twin: true,
  },
];

/** The generated cases with their files under `dir`, known before the files exist (so each gets its own test). */
export function plannedGeneratedCases(dir: string): Case[] {
  return GENERATED_FILES.map((f) => {
    const lossy = LOSSY.has(f.ts);
    const file = path.join(dir, f.name);
    const references = ownReference(file, f.ts, lossy);
    if (f.twin && f.from) references.push({ via: 'twin', file: path.join(dir, f.from), lossy });
    return {
      name: `generated/${f.name}`,
      file,
      transferSyntaxUid: f.ts,
      transferSyntax: f.label,
      sopUid: '',
      frames: 1,
      references,
      lossy,
    };
  });
}

/**
 * Makes the generated files in `dir`; each variant gets a new SOP Instance UID (dcmodify -gin). Also
 * answers one undecodable file (JPEG lossless with its codestream zeroed, DICOM structure intact).
 */
export async function generatedCases(dir: string): Promise<{ cases: Case[]; undecodable: string }> {
  const { generateStudy } = await import('@pacs/test-kit/demo-studies');
  const study = generateStudy(
    {
      patient: { name: 'Corpus^Synthetic', id: 'CORPUS-SYNTH', birthDate: '19700101', sex: 'O' },
      studyDate: '20261101',
      studyTime: '101500',
      accessionNumber: 'CORPUS-SYNTH-1',
      description: 'Transfer syntaxes',
      priority: 'ROUTINE',
      series: [{ modality: 'CT', description: 'CT', instances: 1, bodyPart: 'CHEST' }],
    },
    7,
  );
  writeFileSync(path.join(dir, 'ct-explicit-le.dcm'), study.files[0]!);
  const bmp = path.join(dir, 'colour.bmp');
  writeFileSync(bmp, colourBmp(96, 64));
  run('img2dcm', ['-q', '-i', 'BMP', bmp, path.join(dir, 'rgb-explicit-le.dcm')]);
  for (const f of GENERATED_FILES) {
    if (!f.from || !f.tool) continue;
    const out = path.join(dir, f.name);
    run(f.tool, [...f.args!, path.join(dir, f.from), out]);
    run('dcmodify', ['-nb', '-gin', out]);
  }
  const cases = plannedGeneratedCases(dir).map((c) => ({ ...c, sopUid: sopUidOf(c.file) }));
  // Undecodable: JPEG lossless whose codestream bytes are zeroed (no SOI marker), structure intact.
  const broken = Buffer.from(readFileSync(path.join(dir, 'ct-jpeg-lossless.dcm')));
  const soi = broken.indexOf(Buffer.from([0xff, 0xd8, 0xff]));
  if (soi < 0) throw new Error('no JPEG codestream in the generated file');
  broken.fill(0, soi, Math.min(broken.length - 16, soi + 4096));
  const undecodable = path.join(dir, 'ct-jpeg-lossless-zeroed.dcm');
  writeFileSync(undecodable, broken);
  run('dcmodify', ['-nb', '-gin', undecodable]);
  return { cases, undecodable };
}

export function sopUidOf(file: string): string {
  const result = spawnSync('dcmdump', ['-q', '+P', '0008,0018', file], { encoding: 'utf8' });
  const uid = /\[([0-9.]+)\]/.exec(result.stdout)?.[1];
  if (!uid) throw new Error(`no SOP Instance UID in ${path.basename(file)}`);
  return uid;
}
