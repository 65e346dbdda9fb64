/** Reference renderings: DCMTK's dcm2pnm, or GDCM then DCMTK, or OpenJPEG. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gdcmUncompressed, openjpegColourFrame } from '../j2k-references';
import { type Reference, TS } from './cases';

// ---------------------------------------------------------------------------------------------
// References: DCMTK, or GDCM then DCMTK, or OpenJPEG

export interface Bitmap {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export function parsePnm(buffer: Buffer): Bitmap {
  // P5/P6, whitespace-separated header, maxval 255
  let offset = 0;
  const fields: string[] = [];
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(buffer[offset]!))) offset++;
    if (buffer[offset] === 0x23) {
      while (buffer[offset] !== 0x0a) offset++;
      continue;
    }
    let token = '';
    while (!/\s/.test(String.fromCharCode(buffer[offset]!))) token += String.fromCharCode(buffer[offset++]!);
    fields.push(token);
  }
  offset++;
  const [magic, w, h, max] = fields;
  if ((magic !== 'P5' && magic !== 'P6') || max !== '255') throw new Error(`unexpected PNM header ${fields.join(' ')}`);
  const channels = magic === 'P5' ? 1 : 3;
  const width = Number(w);
  const height = Number(h);
  return { width, height, channels, data: new Uint8Array(buffer.subarray(offset, offset + width * height * channels)) };
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pacs-corpus-ref-'));
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
let refCount = 0;

/** DCMTK's dcm2pnm of one frame (1-based), 8-bit, with the viewer's window (grayscale; colour ignores it). */
export function dcmtkRender(file: string, frame: number, voi: { lower: number; upper: number } | null): Bitmap {
  const out = path.join(scratch, `ref-${refCount++}.pnm`);
  const window = voi ? ['+Ww', String((voi.lower + voi.upper) / 2 + 0.5), String(voi.upper - voi.lower + 1)] : [];
  // Debian's dcm2pnm has no JPEG codecs: dcmj2pnm is dcm2pnm with the JPEG decoders, dcml2pnm with JPEG-LS.
  const tool = isJpegLs(file) ? 'dcml2pnm' : 'dcmj2pnm';
  const result = spawnSync(tool, ['-q', '+F', String(frame), '-O', ...window, '+op', file, out], { encoding: 'utf8' });
  if (result.error) throw new Error(`${tool} (Debian package dcmtk): ${result.error.message}`);
  if (result.status !== 0 || !existsSync(out)) throw new Error(`${tool} failed for ${path.basename(file)}: ${result.stderr}`);
  const bitmap = parsePnm(readFileSync(out));
  rmSync(out, { force: true });
  return bitmap;
}

/** A reference rendering of one frame (1-based) with the viewer's window (grayscale only). */
export function renderReference(ref: Reference, frame: number, voi: { lower: number; upper: number } | null): Bitmap {
  switch (ref.via) {
    case 'dcmtk':
    case 'twin':
      return dcmtkRender(ref.file, frame, voi);
    case 'gdcm':
      return dcmtkRender(gdcmUncompressed(ref.file), frame, voi);
    case 'openjpeg': {
      // 8-bit colour only (j2k-references.ts): no window applies.
      const bitmap = parsePnm(openjpegColourFrame(ref.file, frame));
      if (bitmap.channels !== 3) throw new Error(`${path.basename(ref.file)}: OpenJPEG wrote a grayscale image for a colour file`);
      return bitmap;
    }
  }
}

const jpegLs = new Map<string, boolean>();
function isJpegLs(file: string): boolean {
  let known = jpegLs.get(file);
  if (known === undefined) {
    const head = readFileSync(file).subarray(0, 4096).toString('latin1');
    known = head.includes(TS.jlsLossless) || head.includes(TS.jlsNearLossless);
    jpegLs.set(file, known);
  }
  return known;
}
