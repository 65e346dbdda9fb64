/**
 * Transfer-syntax corpus check: which files to render, their references, how they
 * reach Orthanc, and how a rendered viewport is compared with a reference.
 *
 * Method. The viewer renders a frame with its own window (the VOI it chose: the file's window, else
 * min–max). `dcm2pnm` renders the same frame to 8 bits with that same window, passed as center + 0.5 /
 * width + 1 so DICOM's linear VOI function equals Cornerstone's (value − lower) / width. For codecs DCMTK
 * 3.6.7 lacks, an independent decoder makes the reference (j2k-references.ts): JPEG 2000 is written
 * uncompressed by GDCM and then rendered by dcm2pnm the same way; HTJ2K (8-bit colour in the corpus) is
 * decoded by OpenJPEG. Where the corpus holds the same image in a syntax DCMTK decodes, that twin is a
 * reference too. Colour images are rendered without a window on both sides. The viewport canvas is read
 * back and every canvas pixel that shows the image is mapped to image coordinates (the mapping comes from
 * the viewer's own imageToPage hook); there the canvas must equal the reference up to the resampling the
 * viewport does: each channel must lie within the range of the 2×2 reference pixels around that position
 * (`excess` = how far outside, in 8-bit levels), and its mean distance from the bilinear reference value
 * is reported too (`mean`). Tolerances are in {@link tolerance}.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readManifest } from '@pacs/test-kit/corpus';
import type { Page } from 'playwright-core';
import { gdcmUncompressed, openjpegColourFrame, TOOL_PACKAGES } from './j2k-references';

// ---------------------------------------------------------------------------------------------
// The corpus

export { type CorpusFile as ManifestRow, corpusDir, readManifest } from '@pacs/test-kit/corpus';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jlsLossless: '1.2.840.10008.1.2.4.80',
  jlsNearLossless: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
  htj2kLossless: '1.2.840.10008.1.2.4.201',
  htj2kRpclLossless: '1.2.840.10008.1.2.4.202',
  htj2k: '1.2.840.10008.1.2.4.203',
  rle: '1.2.840.10008.1.2.5',
  deflatedFrame: '1.2.840.10008.1.2.8.1',
} as const;

/**
 * Syntaxes whose pixels DCMTK 3.6.7 cannot decode, and the decoder that makes their reference instead
 * (j2k-references.ts). Deflated Image Frame Compression (2023) has none here (GDCM 3.0.21 cannot read it
 * either): its twin is its only reference.
 */
const OTHER_DECODER: Record<string, 'gdcm' | 'openjpeg' | null> = {
  [TS.j2kLossless]: 'gdcm',
  [TS.j2k]: 'gdcm',
  // GDCM 3.0.21 cannot read HTJ2K; OpenJPEG 2.5.0 can.
  [TS.htj2kLossless]: 'openjpeg',
  [TS.htj2kRpclLossless]: 'openjpeg',
  [TS.htj2k]: 'openjpeg',
  [TS.deflatedFrame]: null,
};
/** Lossy syntaxes: decoders may round differently, so the tolerance is wider (see {@link tolerance}). */
const LOSSY = new Set<string>([TS.jpegBaseline, TS.jpegExtended, TS.jlsNearLossless, TS.j2k, TS.htj2k]);

/**
 * Twins in the corpus (the same image in an encoding DCMTK decodes; from the corpus README), compared
 * besides the decoder's reference: the J2K references come from OpenJPEG inside GDCM, the viewer's J2K
 * decoder is OpenJPEG too, and a twin is the one reference no J2K decoder made. `lossy` marks a pair
 * where one side is lossy.
 */
export const TWINS: Record<string, { twin: string; lossy: boolean }> = {
  'mr-transfer-syntaxes/9.dcm': { twin: 'mr-transfer-syntaxes/1.dcm', lossy: false },
  'pydicom/MR_small_jp2klossless.dcm': { twin: 'pydicom/MR_small.dcm', lossy: false },
  'pydicom-data/emri_small_jpeg_2k_lossless.dcm': { twin: 'pydicom-data/emri_small.dcm', lossy: false },
  'pydicom-data/liver_deflate.dcm': { twin: 'pydicom-data/liver.dcm', lossy: false },
  // NEMA WG04 NM1: J2K lossy vs the JPEG lossless encoding of the same image.
  'pydicom/JPEG2000.dcm': { twin: 'pydicom-data/JPEG-LL.dcm', lossy: true },
};

/**
 * Lossy vs lossless encodings of one image, both decoded by the viewer (no DCMTK-decodable twin exists).
 * Each side has its own decoder reference; this adds the check that the lossy codestream shows the same
 * image as the lossless one, which a fault shared by the viewer's decoder and the reference's would miss
 * (for JPEG 2000 both are OpenJPEG).
 */
export const VIEWER_TWINS: Record<string, { twin: string; lossy: boolean }> = {
  'pydicom-data/HTJ2K_08_RGB.dcm': { twin: 'pydicom-data/HTJ2KLossless_08_RGB.dcm', lossy: true },
  'pydicom-data/US1_J2KI.dcm': { twin: 'pydicom/examples_jpeg2k.dcm', lossy: true },
  'pydicom-data/RG3_J2KI.dcm': { twin: 'pydicom-data/RG3_J2KR.dcm', lossy: true },
};

/**
 * Valid image files without any pixel reference: rendered and checked non-blank only. Empty: every file
 * has one (DCMTK, GDCM or OpenJPEG, or a twin). A file that cannot get one goes here, with the reason.
 */
export const NO_REFERENCE: ReadonlySet<string> = new Set<string>();

/**
 * Files the viewer does not render like the reference yet (reported; the test is `it.fails`, so it
 * turns red once fixed and the entry can go).
 */
export const KNOWN_DEFECTS: Record<string, string> = {};

/**
 * What a frame is compared with. `dcmtk`: DCMTK's rendering of the file itself; `gdcm`: DCMTK's
 * rendering of GDCM's uncompressed copy of it; `openjpeg`: OpenJPEG's decoding of it (8-bit colour);
 * `twin`: DCMTK's rendering of the same image in another file.
 */
export interface Reference {
  via: 'dcmtk' | 'gdcm' | 'openjpeg' | 'twin';
  /** The file the reference is made from: the case's own file, or its twin. */
  file: string;
  /** Lossy tolerance: the file (or, for a twin, one side of the pair) is lossy. */
  lossy: boolean;
}

/** How a reference is named in test titles and the report. */
export function referenceLabel(ref: Reference): string {
  return ref.via === 'twin' ? `twin ${path.basename(ref.file)}` : ref.via;
}

export interface Case {
  /** Corpus-relative path (or a generated file's name). */
  name: string;
  file: string;
  transferSyntaxUid: string;
  transferSyntax: string;
  sopUid: string;
  frames: number;
  /** Every reference this file is compared with (each within its own tolerance); empty when there is none. */
  references: Reference[];
  /** Another case whose viewer rendering this one is compared with (see VIEWER_TWINS). */
  viewerTwin?: { name: string; lossy: boolean };
  lossy: boolean;
}

/** A file's own reference: DCMTK's rendering, else the independent decoder's for its syntax (if any). */
function ownReference(file: string, transferSyntaxUid: string, lossy: boolean): Reference[] {
  const decoder = OTHER_DECODER[transferSyntaxUid];
  if (decoder === undefined) return [{ via: 'dcmtk', file, lossy }];
  return decoder ? [{ via: decoder, file, lossy }] : [];
}

/**
 * Every valid file with pixel data that a radiologist would open (DICOMDIRs, RT plans and SR have
 * none). SEG and RT Dose objects are included: they are images too, and the viewer must at least show
 * them or say it cannot.
 */
export function corpusCases(dir: string): Case[] {
  const rows = readManifest(dir).filter((r) => !r.invalid && r.size !== '' && !/DICOMDIR/.test(r.path));
  return rows.map((r) => {
    const lossy = LOSSY.has(r.transferSyntaxUid);
    const file = path.join(dir, r.path);
    const twin = TWINS[r.path];
    const viewerTwin = VIEWER_TWINS[r.path];
    const references = ownReference(file, r.transferSyntaxUid, lossy);
    if (twin) references.push({ via: 'twin', file: path.join(dir, twin.twin), lossy: twin.lossy });
    return {
      name: r.path,
      file,
      transferSyntaxUid: r.transferSyntaxUid,
      transferSyntax: r.transferSyntax,
      sopUid: r.sopUid,
      frames: Math.max(1, r.frames),
      references,
      viewerTwin: viewerTwin ? { name: viewerTwin.twin, lossy: viewerTwin.lossy } : undefined,
      lossy,
    };
  });
}

/** Intentionally invalid corpus files tried as undecodable (Orthanc refuses most of them at upload). */
export const UNDECODABLE_CANDIDATES = [
  'invalid/emri_small_jpeg_2k_lossless_too_short.dcm',
  'invalid/JPEG2000-embedded-sequence-delimiter.dcm',
  'invalid/made_truncated_pixeldata_ct.dcm',
  'invalid/made_random_bytes.dcm',
];

// ---------------------------------------------------------------------------------------------
// Tolerance

/**
 * Lossless: at most 0.2 % of the compared pixels more than 2 levels (of 255) outside the 2×2 reference
 * neighbourhood (rounding of a floating-point VOI on the GPU vs DCMTK's integer LUT; the few beyond sit
 * on sharp edges: burnt-in text, palette borders), none more than 8, mean distance from the bilinear
 * reference under 2 levels. Lossy (different decoders, or lossy vs lossless twin): at most 5 % of the
 * pixels more than 12 levels outside, mean distance under 6 levels.
 */
export function tolerance(lossy: boolean): { maxExcess: number; outlierLevel: number; maxOutlierFraction: number; maxMean: number } {
  return lossy
    ? { maxExcess: 255, outlierLevel: 12, maxOutlierFraction: 0.05, maxMean: 6 }
    : { maxExcess: 8, outlierLevel: 2, maxOutlierFraction: 0.002, maxMean: 2 };
}

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

// ---------------------------------------------------------------------------------------------
// Reading back the viewport

export interface Capture {
  /** Canvas pixels read back (x, y pairs) and their RGB values. */
  coords: Int32Array;
  rgb: Uint8Array;
  /** Canvas pixel coordinates (continuous) of image points (0,0), (1,0), (0,1). */
  origin: [number, number];
  dx: [number, number];
  dy: [number, number];
  imageId: string;
  index: number;
  count: number;
  voi: { lower: number; upper: number } | null;
  dimensions: number[] | null;
}

type HookShape = {
  state(): {
    index: number;
    count: number;
    imageId: string;
    voi: { lower: number; upper: number } | null;
    dimensions: number[] | null;
  } | null;
  imageToPage(x: number, y: number): { x: number; y: number } | null;
};

/** Installs a listener that records each rendered frame (before any page script runs). */
export async function recordRenders(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __corpusRendered?: { n: number; index: number; imageId: string } };
    w.__corpusRendered = { n: 0, index: -1, imageId: '' };
    document.addEventListener(
      'CORNERSTONE_IMAGE_RENDERED',
      () => {
        const state = (window as unknown as { __pacsViewer?: HookShape }).__pacsViewer?.state();
        if (state) w.__corpusRendered = { n: (w.__corpusRendered?.n ?? 0) + 1, index: state.index, imageId: state.imageId };
      },
      true,
    );
  });
}

/**
 * Reads the viewport back. When the image is magnified, one canvas pixel per image pixel (the one under
 * the pixel's centre); when it is shrunk, every canvas pixel over the image. Only those travel to Node.
 */
export async function captureViewport(page: Page): Promise<Capture> {
  const raw = await page.evaluate(() => {
    const hook = (window as unknown as { __pacsViewer?: HookShape }).__pacsViewer;
    const state = hook?.state();
    const canvas = document.querySelector('[data-testid="viewport"] canvas') as HTMLCanvasElement | null;
    if (!hook || !state || !canvas || !state.dimensions) throw new Error('no viewport to capture');
    const rect = canvas.getBoundingClientRect();
    // Cornerstone's canvas coordinates are canvas pixels / devicePixelRatio (not the CSS box, which may be fractional).
    const ratio = window.devicePixelRatio || 1;
    // (no named local functions: tsx would wrap them in a helper that does not exist in the page)
    const [o, px, py] = [
      [0, 0],
      [1, 0],
      [0, 1],
    ].map(([x, y]) => {
      const p = hook.imageToPage(x!, y!)!;
      return [(p.x - rect.left) * ratio, (p.y - rect.top) * ratio] as [number, number];
    }) as [[number, number], [number, number], [number, number]];
    const dx = [px[0] - o[0], px[1] - o[1]];
    const dy = [py[0] - o[0], py[1] - o[1]];
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d')!;
    ctx.drawImage(canvas, 0, 0);
    const { data } = ctx.getImageData(0, 0, copy.width, copy.height);
    const [W, H] = state.dimensions as [number, number];
    const coords: number[] = [];
    const scale = Math.hypot(dx[0]!, dx[1]!);
    if (scale >= 1) {
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) {
          const cx = Math.floor(o[0] + dx[0]! * (x + 0.5) + dy[0]! * (y + 0.5));
          const cy = Math.floor(o[1] + dx[1]! * (x + 0.5) + dy[1]! * (y + 0.5));
          if (cx >= 0 && cy >= 0 && cx < copy.width && cy < copy.height) coords.push(cx, cy);
        }
    } else {
      const xs = [o[0], o[0] + dx[0]! * W, o[0] + dy[0]! * H, o[0] + dx[0]! * W + dy[0]! * H];
      const ys = [o[1], o[1] + dx[1]! * W, o[1] + dy[1]! * H, o[1] + dx[1]! * W + dy[1]! * H];
      const x0 = Math.max(0, Math.floor(Math.min(...xs)));
      const x1 = Math.min(copy.width, Math.ceil(Math.max(...xs)));
      const y0 = Math.max(0, Math.floor(Math.min(...ys)));
      const y1 = Math.min(copy.height, Math.ceil(Math.max(...ys)));
      for (let cy = y0; cy < y1; cy++) for (let cx = x0; cx < x1; cx++) coords.push(cx, cy);
    }
    const rgb = new Uint8Array((coords.length / 2) * 3);
    for (let k = 0; k < coords.length / 2; k++) {
      const p = (coords[2 * k + 1]! * copy.width + coords[2 * k]!) * 4;
      rgb[3 * k] = data[p]!;
      rgb[3 * k + 1] = data[p + 1]!;
      rgb[3 * k + 2] = data[p + 2]!;
    }
    const ij = new Uint8Array(new Int32Array(coords).buffer);
    let a = '';
    for (let i = 0; i < ij.length; i += 0x8000) a += String.fromCharCode(...ij.subarray(i, i + 0x8000));
    let b = '';
    for (let i = 0; i < rgb.length; i += 0x8000) b += String.fromCharCode(...rgb.subarray(i, i + 0x8000));
    return {
      coords: btoa(a),
      rgb: btoa(b),
      origin: o,
      dx,
      dy,
      imageId: state.imageId,
      index: state.index,
      count: state.count,
      voi: state.voi,
      dimensions: state.dimensions,
    };
  });
  const coords = Buffer.from(raw.coords, 'base64');
  return {
    coords: new Int32Array(coords.buffer, coords.byteOffset, coords.byteLength / 4),
    rgb: new Uint8Array(Buffer.from(raw.rgb, 'base64')),
    origin: raw.origin,
    dx: raw.dx as [number, number],
    dy: raw.dy as [number, number],
    imageId: raw.imageId,
    index: raw.index,
    count: raw.count,
    voi: raw.voi,
    dimensions: raw.dimensions,
  };
}

export interface Comparison {
  /** Canvas pixels compared (those showing the image). */
  pixels: number;
  /** Largest distance (8-bit levels) of a canvas channel outside its 2×2 reference neighbourhood. */
  maxExcess: number;
  /** Fraction of compared pixels more than `outlierLevel` outside. */
  outlierFraction: number;
  /** Mean |canvas − bilinear reference| over channels and pixels. */
  mean: number;
  /** Fraction of compared pixels that are not black (a blank canvas fails even against a blank reference). */
  nonBlack: number;
}

/** Per-pixel results (worst channel, summed channel distances, black or not) summed into a Comparison. */
class Tally {
  private pixels = 0;
  private maxExcess = 0;
  private outliers = 0;
  private sum = 0;
  private nonBlack = 0;
  constructor(private readonly outlierLevel: number) {}

  add(worst: number, channelSum: number, black: boolean): void {
    this.pixels++;
    this.sum += channelSum;
    if (!black) this.nonBlack++;
    if (worst > this.maxExcess) this.maxExcess = worst;
    if (worst > this.outlierLevel) this.outliers++;
  }

  result(): Comparison {
    const { pixels } = this;
    return {
      pixels,
      maxExcess: this.maxExcess,
      outlierFraction: pixels ? this.outliers / pixels : 1,
      mean: pixels ? this.sum / (pixels * 3) : 255,
      nonBlack: pixels ? this.nonBlack / pixels : 0,
    };
  }
}

/**
 * Two captures of the same image in the same viewport (a viewer twin: two encodings of one image, both
 * decoded by the viewer): per-channel differences where both read the same canvas pixel.
 */
export function compareCaptures(a: Capture, b: Capture, outlierLevel: number): Comparison | null {
  if (a.coords.length !== b.coords.length || a.coords.some((v, i) => v !== b.coords[i])) return null;
  const tally = new Tally(outlierLevel);
  for (let k = 0; k < a.rgb.length / 3; k++) {
    let worst = 0;
    let black = true;
    let sum = 0;
    for (let ch = 0; ch < 3; ch++) {
      const d = Math.abs(a.rgb[3 * k + ch]! - b.rgb[3 * k + ch]!);
      if (a.rgb[3 * k + ch]! > 8) black = false;
      sum += d;
      if (d > worst) worst = d;
    }
    tally.add(worst, sum, black);
  }
  return tally.result();
}

/** imageToPage(0, 0) is the outer corner of the first pixel: pixel centres are at +0.5 (measured). */
export const OFFSET = -0.5;

/**
 * Compares a captured viewport with a reference bitmap (grayscale: all three canvas channels against the
 * gray value).
 */
export function compareCapture(capture: Capture, ref: Bitmap, outlierLevel: number): Comparison {
  const { coords, rgb, origin, dx, dy } = capture;
  // A reference of another size (a decoder that drops a resolution level, a wrong frame) is no reference.
  const [columns, rows] = capture.dimensions ?? [];
  if (columns !== ref.width || rows !== ref.height)
    throw new Error(`the reference is ${ref.width}×${ref.height}, the viewer shows ${columns}×${rows} pixels`);
  const det = dx[0] * dy[1] - dx[1] * dy[0];
  if (!Number.isFinite(det) || Math.abs(det) < 1e-9) throw new Error('degenerate image-to-canvas mapping');
  const inv = [dy[1] / det, -dy[0] / det, -dx[1] / det, dx[0] / det] as const;
  const W = ref.width;
  const H = ref.height;
  const C = ref.channels;
  const value = (x: number, y: number, c: number) => ref.data[(y * W + x) * C + c]!;
  const tally = new Tally(outlierLevel);
  for (let k = 0; k < coords.length / 2; k++) {
    const u = coords[2 * k]! + 0.5 - origin[0];
    const v = coords[2 * k + 1]! + 0.5 - origin[1];
    const x = inv[0] * u + inv[1] * v + OFFSET;
    const y = inv[2] * u + inv[3] * v + OFFSET;
    // Stay inside the outer pixel centres (edge pixels blend with the background).
    if (x < 0 || y < 0 || x > W - 1 || y > H - 1) continue;
    const x0 = Math.min(W - 2, Math.floor(x));
    const y0 = Math.min(H - 2, Math.floor(y));
    const fx = x - x0;
    const fy = y - y0;
    let worst = 0;
    let black = true;
    let sum = 0;
    for (let ch = 0; ch < 3; ch++) {
      const c = C === 1 ? 0 : ch;
      const a = value(x0, y0, c);
      const b = value(x0 + 1, y0, c);
      const d = value(x0, y0 + 1, c);
      const e = value(x0 + 1, y0 + 1, c);
      const lo = Math.min(a, b, d, e);
      const hi = Math.max(a, b, d, e);
      const got = rgb[3 * k + ch]!;
      if (got > 8) black = false;
      const excess = got < lo ? lo - got : got > hi ? got - hi : 0;
      if (excess > worst) worst = excess;
      const bilinear = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
      sum += Math.abs(got - bilinear);
    }
    tally.add(worst, sum, black);
  }
  return tally.result();
}

// ---------------------------------------------------------------------------------------------
// Getting files into Orthanc

/** Explicit VR with a 4-byte length (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** Offset just past one explicit-LE element (recursing through undefined-length sequences and items). */
function skipElement(buf: Buffer, offset: number): number {
  const group = buf.readUInt16LE(offset);
  const element = buf.readUInt16LE(offset + 2);
  if (group === 0xfffe) {
    const length = buf.readUInt32LE(offset + 4);
    if (element !== 0xe000 || length !== 0xffffffff) return offset + 8 + (length === 0xffffffff ? 0 : length);
    let p = offset + 8;
    while (!(buf.readUInt16LE(p) === 0xfffe && buf.readUInt16LE(p + 2) === 0xe00d)) p = skipElement(buf, p);
    return p + 8;
  }
  const vr = buf.toString('latin1', offset + 4, offset + 6);
  if (!LONG_VRS.has(vr)) return offset + 8 + buf.readUInt16LE(offset + 6);
  const length = buf.readUInt32LE(offset + 8);
  if (length !== 0xffffffff) return offset + 12 + length;
  let p = offset + 12;
  while (!(buf.readUInt16LE(p) === 0xfffe && buf.readUInt16LE(p + 2) === 0xe0dd)) p = skipElement(buf, p);
  return p + 8;
}

function uiElement(group: number, element: number, uid: string): Buffer {
  const value = uid.length % 2 ? `${uid}\0` : uid;
  const out = Buffer.alloc(8 + value.length);
  out.writeUInt16LE(group, 0);
  out.writeUInt16LE(element, 2);
  out.write('UI', 4, 'latin1');
  out.writeUInt16LE(value.length, 6);
  out.write(value, 8, 'latin1');
  return out;
}

/**
 * Codec test files without SOP/Study/Series Instance UID cannot be stored in a PACS. For those, a copy
 * in memory gets the missing UIDs inserted (explicit VR little endian data sets only); pixel data untouched.
 */
export function withStudyUids(file: Buffer, uidRoot: string): { bytes: Buffer; added: boolean } {
  const part10 = file.toString('latin1', 128, 132) === 'DICM';
  // A file that starts straight with its meta elements (no preamble, no "DICM") gets a proper header.
  if (!part10 && !(file.length > 8 && file.readUInt16LE(0) === 0x0002)) return { bytes: file, added: false };
  let p = part10 ? 132 : 0;
  let ts = '';
  while (p < file.length && file.readUInt16LE(p) === 0x0002) {
    const next = skipElement(file, p);
    if (file.readUInt16LE(p + 2) === 0x0010) ts = file.toString('latin1', p + 8, next).replace(/[\0 ]+$/, '');
    p = next;
  }
  if (!part10) return withStudyUids(part10File(ts, file.subarray(p), uidRoot), uidRoot);
  if (ts === TS.implicitLE || ts === TS.explicitBE || ts === TS.deflatedLE) return { bytes: file, added: false };
  const wanted: [number, string][] = [
    [0x00080018, `${uidRoot}.3`],
    [0x0020000d, `${uidRoot}.1`],
    [0x0020000e, `${uidRoot}.2`],
  ];
  const parts: Buffer[] = [file.subarray(0, p)];
  let added = false;
  const insert = (tag: number, uid: string) => {
    parts.push(uiElement(tag >>> 16, tag & 0xffff, uid));
    added = true;
  };
  while (p < file.length) {
    const key = file.readUInt16LE(p) * 0x10000 + file.readUInt16LE(p + 2);
    while (wanted.length && wanted[0]![0] <= key) {
      const [tag, uid] = wanted.shift()!;
      if (key !== tag) insert(tag, uid);
    }
    const next = skipElement(file, p);
    parts.push(file.subarray(p, next));
    p = next;
  }
  for (const [tag, uid] of wanted) insert(tag, uid);
  return { bytes: added ? Buffer.concat(parts) : file, added };
}

/** Preamble, "DICM" and a File Meta group for a bare explicit-LE data set (SOP UIDs from the data set, or made up). */
function part10File(ts: string, dataSet: Buffer, uidRoot: string): Buffer {
  const stringAt = (tag: number): string => {
    let p = 0;
    while (p < dataSet.length) {
      const key = dataSet.readUInt16LE(p) * 0x10000 + dataSet.readUInt16LE(p + 2);
      const next = skipElement(dataSet, p);
      if (key === tag) return dataSet.toString('latin1', p + 8, next).replace(/[\0 ]+$/, '');
      if (key > tag) break;
      p = next;
    }
    return '';
  };
  const version = Buffer.from([0x02, 0x00, 0x01, 0x00, 0x4f, 0x42, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
  const elements = Buffer.concat([
    version,
    uiElement(0x0002, 0x0002, stringAt(0x00080016) || '1.2.840.10008.5.1.4.1.1.7'),
    uiElement(0x0002, 0x0003, stringAt(0x00080018) || `${uidRoot}.3`),
    uiElement(0x0002, 0x0010, ts),
    uiElement(0x0002, 0x0012, '2.25.260946479018442447213437418924960232449'),
  ]);
  const length = Buffer.alloc(12);
  length.writeUInt16LE(0x0002, 0);
  length.writeUInt16LE(0x0000, 2);
  length.write('UL', 4, 'latin1');
  length.writeUInt16LE(4, 6);
  length.writeUInt32LE(elements.length, 8);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), length, elements, dataSet]);
}

export interface OrthancRest {
  httpUrl: string;
  username: string;
  password: string;
}

export function orthancFetch(orthanc: OrthancRest, pathname: string, init: RequestInit = {}): Promise<Response> {
  const authorization = `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}`;
  return fetch(`${orthanc.httpUrl}${pathname}`, {
    ...init,
    headers: { authorization, ...(init.headers as Record<string, string> | undefined) },
    signal: AbortSignal.timeout(60_000),
  });
}

/** POST /instances; answers Orthanc's ids, or the HTTP status when refused. */
export async function uploadInstance(
  orthanc: OrthancRest,
  bytes: Buffer,
): Promise<{ ok: true; instance: string; study: string; status: string } | { ok: false; httpStatus: number }> {
  const response = await orthancFetch(orthanc, '/instances', {
    method: 'POST',
    body: new Uint8Array(bytes),
    headers: { 'content-type': 'application/dicom' },
  });
  const text = await response.text();
  if (!response.ok) return { ok: false, httpStatus: response.status };
  const body = JSON.parse(text) as { ID: string; ParentStudy: string; Status: string };
  return { ok: true, instance: body.ID, study: body.ParentStudy, status: body.Status };
}

export async function studyInstanceUid(orthanc: OrthancRest, orthancStudy: string): Promise<string> {
  const response = await orthancFetch(orthanc, `/studies/${orthancStudy}`);
  const body = (await response.json()) as { MainDicomTags: { StudyInstanceUID: string } };
  return body.MainDicomTags.StudyInstanceUID;
}

/** Splits cases into rounds in which no SOP Instance UID repeats (codec variants share theirs). */
export function rounds<T extends { sopUid: string }>(cases: T[]): T[][] {
  const out: { uids: Set<string>; items: T[] }[] = [];
  for (const c of cases) {
    let round = out.find((r) => !r.uids.has(c.sopUid));
    if (!round) {
      round = { uids: new Set(), items: [] };
      out.push(round);
    }
    round.uids.add(c.sopUid);
    round.items.push(c);
  }
  return out.map((r) => r.items);
}

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
