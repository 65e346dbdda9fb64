/**
 * Independent decoders for the corpus check's JPEG 2000 and HTJ2K files, which DCMTK 3.6.7 cannot decode.
 *
 * - JPEG 2000: GDCM (`gdcmconv --raw`, Debian package libgdcm-tools) writes the file uncompressed; that file
 *   then takes the DCMTK path unchanged (the viewer's window, modality LUT, MONOCHROME1, colour), so the
 *   reference differs from the other files' only in who decoded the codestream.
 * - HTJ2K: GDCM 3.0.21 cannot read it. OpenJPEG 2.5.0 (`opj_decompress`, Debian package libopenjp2-tools)
 *   decodes the codestream cut out of the encapsulated Pixel Data.
 *
 * How independent. The viewer decodes JPEG 2000 with OpenJPEG built to WebAssembly
 * (@cornerstonejs/codec-openjpeg) and HTJ2K with OpenJPH (@cornerstonejs/codec-openjph). GDCM's JPEG 2000
 * codec is Debian's OpenJPEG: another build and another DICOM pipeline (fragments, colour transform,
 * photometric interpretation, bits, sign) but the same wavelet decoder, so where the corpus holds the same
 * image in another encoding that twin stays a second reference (corpus/cases.ts TWINS). For HTJ2K the two
 * decoders (OpenJPEG, OpenJPH) are separate implementations.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dicomParserModule from 'dicom-parser';

// dicom-parser is a UMD bundle: Node's ESM loader exposes it only as the default export.
const dicomParser = (dicomParserModule as unknown as { default?: typeof dicomParserModule }).default ?? dicomParserModule;

/** The Debian package of each tool, named in the error when it cannot run (a missing tool fails the check). */
export const TOOL_PACKAGES: Record<string, string> = {
  gdcmconv: 'libgdcm-tools',
  opj_decompress: 'libopenjp2-tools',
};

const scratch = mkdtempSync(path.join(os.tmpdir(), 'pacs-corpus-j2k-'));
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));
let count = 0;

function runTool(command: string, args: string[], subject: string): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw new Error(`${command} (Debian package ${TOOL_PACKAGES[command]}) cannot run: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} failed for ${subject}: ${(result.stderr || result.stdout).trim()}`);
}

const uncompressed = new Map<string, string>();

/**
 * The file rewritten uncompressed (Explicit VR Little Endian) by GDCM, for DCMTK to render. Once per file
 * (a multi-frame file serves all its frames). GDCM may raise Bits Stored to the codestream's precision
 * (12 → 16 for `mr-transfer-syntaxes/9.dcm`); the sample values are unchanged (checked against the
 * uncompressed twins), and the window is given explicitly, so the rendering is not affected.
 */
export function gdcmUncompressed(file: string): string {
  let out = uncompressed.get(file);
  if (!out) {
    out = path.join(scratch, `gdcm-${count++}.dcm`);
    runTool('gdcmconv', ['--raw', file, out], path.basename(file));
    if (!existsSync(out)) throw new Error(`gdcmconv wrote nothing for ${path.basename(file)}`);
    uncompressed.set(file, out);
  }
  return out;
}

const decoded = new Map<string, Buffer>();

/**
 * OpenJPEG's decoding of a single-frame, 8-bit colour HTJ2K file as a binary PPM (P6, maxval 255). Colour
 * has no window, so the PPM is the reference as it is (OpenJPEG undoes the codestream's colour transform:
 * RGB out for RGB, YBR_RCT and YBR_ICT).
 *
 * Not handled, because the corpus has no such HTJ2K file, and refused loudly rather than compared wrongly:
 * grayscale (opj_decompress writes >8-bit samples as a 16-bit big-endian PGM with maxval 2^precision − 1,
 * signed samples offset by 2^(precision − 1); the reference would then need the Modality LUT and window that
 * DCMTK applies, e.g. by wrapping the samples into an uncompressed copy of the file), more than 8 bits, other
 * photometric interpretations, and multi-frame files (one codestream per frame to cut out).
 */
export function openjpegColourFrame(file: string, frame: number): Buffer {
  const name = path.basename(file);
  if (frame !== 1) throw new Error(`${name}: the OpenJPEG reference handles single-frame files only (frame ${frame} asked)`);
  let ppm = decoded.get(file);
  if (!ppm) {
    const dataSet = dicomParser.parseDicom(new Uint8Array(readFileSync(file)));
    const samples = dataSet.uint16('x00280002');
    const bits = dataSet.uint16('x00280100');
    const photometric = dataSet.string('x00280004') ?? '';
    const frames = Number(dataSet.string('x00280008') ?? '1') || 1;
    if (samples !== 3 || bits !== 8 || !['RGB', 'YBR_RCT', 'YBR_ICT'].includes(photometric) || frames !== 1)
      throw new Error(
        `${name}: no OpenJPEG reference for ${samples} sample(s) of ${bits} bits, ${photometric}, ${frames} frame(s) (8-bit single-frame colour only; see j2k-references.ts)`,
      );
    const pixelData = dataSet.elements.x7fe00010;
    if (!pixelData?.encapsulatedPixelData || !pixelData.fragments?.length) throw new Error(`${name}: no encapsulated Pixel Data`);
    // One frame: its codestream is all the fragments in order.
    const codestream = dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, 0, pixelData.fragments.length);
    const j2c = path.join(scratch, `openjpeg-${count++}.j2c`);
    const out = path.join(scratch, `openjpeg-${count++}.ppm`);
    writeFileSync(j2c, codestream);
    runTool('opj_decompress', ['-quiet', '-i', j2c, '-o', out], name);
    if (!existsSync(out)) throw new Error(`opj_decompress wrote nothing for ${name}`);
    ppm = readFileSync(out);
    rmSync(j2c, { force: true });
    rmSync(out, { force: true });
    decoded.set(file, ppm);
  }
  return ppm;
}
