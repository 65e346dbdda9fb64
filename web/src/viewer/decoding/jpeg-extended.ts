/**
 * 12-bit lossy JPEG (JPEG Extended, process 4: DCT, Huffman, sequential) decoded here rather than by the
 * DICOM image loader.
 *
 * The loader (5.14) hands 1.2.840.10008.1.2.4.51 to a pdf.js-derived JpegImage whose last IDCT stage
 * level-shifts by `2056 / bitConversion` (bitConversion = 255 / 4095 for 12 bits): 33016 instead of
 * 2048 × 16 + 8 = 32776, so every pixel comes out 240 / 16 = 15 stored values too high, and its clamp
 * turns every true value from about 4080 up into 4095. On pydicom/JPGExtended.dcm that is, against
 * dcmdjpeg, +15 on 90 % of the pixels, +14 on 9.6 %, +9…+13 on the rest (mean +14.9). This follows IJG's "islow"
 * integer IDCT, the one DCMTK's 12-bit codec uses, and matches dcmdjpeg value for value. The decoded frame
 * is handed to the loader as Explicit VR Little Endian, so everything after decoding (signed pixels,
 * rescale, min/max) stays the loader's.
 *
 * Only what the loader gets wrong is taken over: 12-bit, one component, sequential Huffman. Anything
 * else (8-bit, progressive, arithmetic coding, colour) goes to the loader as before.
 */
import type { Frame } from './frames';

/** Syntaxes the loader decodes with that JpegImage (decodeJPEGBaseline12Bit). */
const JPEG_12BIT_CAPABLE = new Set(['1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.53', '1.2.840.10008.1.2.4.55']);
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/**
 * True when the loader may have decoded an image of this transfer syntax with the wrong level shift: a
 * JPEG DCT syntax with more than 8 bits stored (12-bit JPEG needs 16 bits allocated).
 */
export function loaderMisdecodes(transferSyntax: string | undefined, bitsStored: number | undefined): boolean {
  return !!transferSyntax && JPEG_12BIT_CAPABLE.has(transferSyntax) && (bitsStored ?? 0) > 8;
}

/**
 * The series part of a WADO-RS frame URI (…/series/UID): once one of its frames turns out to be 12-bit
 * JPEG, the series' other frames are fetched and decoded here from the start (cornerstone.ts).
 */
export function seriesKey(frameUri: string): string {
  return frameUri.replace(/\/instances\/.*$/, '');
}

/**
 * The frame as the loader should get it: a 12-bit sequential JPEG decoded here to native little-endian
 * pixels (Explicit VR Little Endian); any other frame unchanged.
 */
export function decodableFrame<T extends { pixelData: Uint8Array; transferSyntax: string }>(frame: T): T | Frame {
  if (!JPEG_12BIT_CAPABLE.has(frame.transferSyntax)) return frame;
  const pixels = decodeJpeg12(frame.pixelData);
  if (!pixels) return frame;
  const bytes = new Uint8Array(pixels.length * 2);
  for (let i = 0; i < pixels.length; i++) {
    bytes[2 * i] = pixels[i]! & 0xff;
    bytes[2 * i + 1] = pixels[i]! >> 8;
  }
  return { pixelData: bytes, transferSyntax: EXPLICIT_LE };
}

const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57,
  50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

interface HuffmanTable {
  /** Per code length 1…16: first code, last code (−1 when none), index of its first value. */
  mincode: Int32Array;
  maxcode: Int32Array;
  valptr: Int32Array;
  values: Uint8Array;
}

function huffmanTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const mincode = new Int32Array(17);
  const maxcode = new Int32Array(17).fill(-1);
  const valptr = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1]!;
    valptr[length] = k;
    mincode[length] = code;
    code += n;
    k += n;
    if (n) maxcode[length] = code - 1;
    code <<= 1;
  }
  return { mincode, maxcode, valptr, values };
}

/**
 * Decodes a 12-bit, single-component, sequential Huffman JPEG codestream to its samples (row by row), or
 * returns null for any other kind of JPEG (left to the loader). Entropy-coded data that ends early
 * decodes as zeros, as in IJG's library.
 */
export function decodeJpeg12(data: Uint8Array): Uint16Array | null {
  if (data[0] !== 0xff || data[1] !== 0xd8) return null;
  const quant: (Int32Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let restartInterval = 0;
  let frame: { width: number; height: number; componentId: number; quantId: number } | null = null;
  let out: Uint16Array | null = null;
  let pos = 2;
  const u16 = (at: number) => (data[at]! << 8) | data[at + 1]!;
  while (pos + 1 < data.length) {
    if (data[pos] !== 0xff) {
      pos++; // stray byte between segments: look for the next marker, as decoders do
      continue;
    }
    const marker = data[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xd9) break; // EOI
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      pos += 2;
      continue;
    }
    const length = u16(pos + 2);
    const body = pos + 4;
    const end = pos + 2 + length;
    if (marker === 0xc0 || marker === 0xc1) {
      const precision = data[body]!;
      const height = u16(body + 1);
      const width = u16(body + 3);
      // other precisions, colour, and a height left to a DNL marker are the loader's
      if (precision !== 12 || data[body + 5] !== 1 || height === 0 || width === 0) return null;
      frame = { width, height, componentId: data[body + 6]!, quantId: data[body + 8]! };
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return null; // progressive, lossless, hierarchical or arithmetic coding
    } else if (marker === 0xdb) {
      for (let at = body; at < end; ) {
        const spec = data[at++]!;
        const table = new Int32Array(64);
        for (let k = 0; k < 64; k++) {
          table[ZIGZAG[k]!] = spec >> 4 ? u16(at) : data[at]!;
          at += spec >> 4 ? 2 : 1;
        }
        quant[spec & 15] = table;
      }
    } else if (marker === 0xc4) {
      for (let at = body; at < end; ) {
        const spec = data[at]!;
        const counts = data.subarray(at + 1, at + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        const table = huffmanTable(counts, data.slice(at + 17, at + 17 + total));
        (spec >> 4 ? acTables : dcTables)[spec & 15] = table;
        at += 17 + total;
      }
    } else if (marker === 0xdd) {
      restartInterval = u16(body);
    } else if (marker === 0xda) {
      if (!frame || data[body] !== 1 || data[body + 1] !== frame.componentId) return null;
      const tables = data[body + 2]!;
      const dc = dcTables[tables >> 4];
      const ac = acTables[tables & 15];
      const q = quant[frame.quantId];
      if (!dc || !ac || !q) throw new Error('JPEG: a scan refers to a missing table');
      out = new Uint16Array(frame.width * frame.height);
      pos = decodeScan(data, end, frame.width, frame.height, q, dc, ac, restartInterval, out);
      continue;
    }
    pos = end;
  }
  return out;
}

/** Decodes the scan starting at `start` into `out`; returns where the entropy-coded data ended. */
function decodeScan(
  data: Uint8Array,
  start: number,
  width: number,
  height: number,
  quant: Int32Array,
  dcTable: HuffmanTable,
  acTable: HuffmanTable,
  restartInterval: number,
  out: Uint16Array,
): number {
  let pos = start;
  let byte = 0;
  let bitsLeft = 0;
  let atMarker = false;
  const nextByte = (): number => {
    if (atMarker || pos >= data.length) return 0;
    const b = data[pos]!;
    if (b === 0xff) {
      if (data[pos + 1] === 0) {
        pos += 2;
        return 0xff;
      }
      atMarker = true; // a marker ends the entropy-coded data: what is missing reads as zeros
      return 0;
    }
    pos++;
    return b;
  };
  const bit = (): number => {
    if (bitsLeft === 0) {
      byte = nextByte();
      bitsLeft = 8;
    }
    bitsLeft--;
    return (byte >> bitsLeft) & 1;
  };
  const receive = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | bit();
    return v;
  };
  const extend = (v: number, n: number): number => (v < 1 << (n - 1) ? v - (1 << n) + 1 : v);
  const decode = (table: HuffmanTable): number => {
    let code = bit();
    let length = 1;
    while (length < 16 && code > table.maxcode[length]!) {
      code = (code << 1) | bit();
      length++;
    }
    if (code > table.maxcode[length]!) return 0; // not a code: IJG warns and carries on with 0
    return table.values[table.valptr[length]! + code - table.mincode[length]!] ?? 0;
  };

  const blocksPerLine = Math.ceil(width / 8);
  const blocks = blocksPerLine * Math.ceil(height / 8);
  const coef = new Int32Array(64);
  const samples = new Uint16Array(64);
  let pred = 0;
  for (let n = 0; n < blocks; n++) {
    if (restartInterval && n > 0 && n % restartInterval === 0) {
      // RSTn: byte-align, step over the marker, start the DC prediction again
      bitsLeft = 0;
      while (pos < data.length && data[pos] !== 0xff) pos++;
      while (data[pos + 1] === 0xff) pos++;
      if (pos + 1 < data.length && data[pos + 1]! >= 0xd0 && data[pos + 1]! <= 0xd7) {
        pos += 2;
        atMarker = false;
      }
      pred = 0;
    }
    coef.fill(0);
    const t = decode(dcTable);
    if (t) pred += extend(receive(t), t);
    coef[0] = pred * quant[0]!;
    for (let k = 1; k < 64; k++) {
      const rs = decode(acTable);
      const s = rs & 15;
      const r = rs >> 4;
      if (s === 0) {
        if (r !== 15) break; // end of block
        k += 15; // sixteen zeros
        continue;
      }
      k += r;
      if (k > 63) break;
      const z = ZIGZAG[k]!;
      coef[z] = extend(receive(s), s) * quant[z]!;
    }
    idctIslow12(coef, samples);
    const x0 = (n % blocksPerLine) * 8;
    const y0 = Math.floor(n / blocksPerLine) * 8;
    for (let y = 0; y < 8 && y0 + y < height; y++)
      for (let x = 0; x < 8 && x0 + x < width; x++) out[(y0 + y) * width + x0 + x] = samples[y * 8 + x]!;
  }
  // Past the data: at the marker that ended it (or the padding byte before it).
  return atMarker ? pos : Math.min(pos, data.length);
}

// IJG's slow-but-accurate integer IDCT (Loeffler, Ligtenberg, Moschytz) for 12-bit samples: 13-bit
// constants, one extra bit kept between the passes (two would overflow 32 bits with 12-bit input).
// Products are exact in doubles, and DESCALE (a rounding right shift) is a floor of an exact quotient.
const C0_298 = 2446;
const C0_390 = 3196;
const C0_541 = 4433;
const C0_765 = 6270;
const C0_899 = 7373;
const C1_175 = 9633;
const C1_501 = 12299;
const C1_847 = 15137;
const C1_961 = 16069;
const C2_053 = 16819;
const C2_562 = 20995;
const C3_072 = 25172;
const ONE = 8192; // 1 << CONST_BITS (13)
const PASS1_ROUND = 2048; // CONST_BITS − PASS1_BITS = 12 bits
const PASS1_SCALE = 1 / 4096;
const PASS2_ROUND = 65536; // CONST_BITS + PASS1_BITS + 3 = 17 bits
const PASS2_SCALE = 1 / 131072;

const workspace = new Float64Array(64);
const row = new Float64Array(8);

/** One 8-point IDCT of `v` (in place), before descaling. */
function idct8(v: Float64Array): void {
  const z1e = (v[2]! + v[6]!) * C0_541;
  const e2 = z1e - v[6]! * C1_847;
  const e3 = z1e + v[2]! * C0_765;
  const e0 = (v[0]! + v[4]!) * ONE;
  const e1 = (v[0]! - v[4]!) * ONE;
  const t10 = e0 + e3;
  const t13 = e0 - e3;
  const t11 = e1 + e2;
  const t12 = e1 - e2;
  const a0 = v[7]!;
  const a1 = v[5]!;
  const a2 = v[3]!;
  const a3 = v[1]!;
  const z5 = (a0 + a1 + a2 + a3) * C1_175;
  const z1 = (a0 + a3) * -C0_899;
  const z2 = (a1 + a2) * -C2_562;
  const z3 = (a0 + a2) * -C1_961 + z5;
  const z4 = (a1 + a3) * -C0_390 + z5;
  const o0 = a0 * C0_298 + z1 + z3;
  const o1 = a1 * C2_053 + z2 + z4;
  const o2 = a2 * C3_072 + z2 + z3;
  const o3 = a3 * C1_501 + z1 + z4;
  v[0] = t10 + o3;
  v[7] = t10 - o3;
  v[1] = t11 + o2;
  v[6] = t11 - o2;
  v[2] = t12 + o1;
  v[5] = t12 - o1;
  v[3] = t13 + o0;
  v[4] = t13 - o0;
}

/**
 * Dequantized coefficients (natural order) → 64 samples: columns, then rows, then IJG's range limit
 * (level shift by 2048 and clamp to 0…4095; the table wraps only far outside that range). A column or
 * row with only its first value set is a constant: IJG's shortcut, with the same result.
 */
function idctIslow12(coef: Int32Array, samples: Uint16Array): void {
  for (let c = 0; c < 8; c++) {
    if (!coef[8 + c] && !coef[16 + c] && !coef[24 + c] && !coef[32 + c] && !coef[40 + c] && !coef[48 + c] && !coef[56 + c]) {
      const dc = coef[c]! * 2; // << PASS1_BITS
      for (let k = 0; k < 8; k++) workspace[k * 8 + c] = dc;
      continue;
    }
    for (let k = 0; k < 8; k++) row[k] = coef[k * 8 + c]!;
    idct8(row);
    for (let k = 0; k < 8; k++) workspace[k * 8 + c] = Math.floor((row[k]! + PASS1_ROUND) * PASS1_SCALE);
  }
  for (let r = 0; r < 64; r += 8) {
    for (let k = 0; k < 8; k++) row[k] = workspace[r + k]!;
    if (!row[1] && !row[2] && !row[3] && !row[4] && !row[5] && !row[6] && !row[7]) {
      const s = rangeLimit(Math.floor((row[0]! + 8) / 16)); // DESCALE by PASS1_BITS + 3
      for (let k = 0; k < 8; k++) samples[r + k] = s;
      continue;
    }
    idct8(row);
    for (let k = 0; k < 8; k++) samples[r + k] = rangeLimit(Math.floor((row[k]! + PASS2_ROUND) * PASS2_SCALE));
  }
}

/** IJG's range limit for 12 bits: the level shift by 2048, clamped to 0…4095, wrapping only far outside. */
function rangeLimit(x: number): number {
  const v = x & 16383;
  return v < 2048 ? v + 2048 : v < 8192 ? 4095 : v < 14336 ? 0 : v - 14336;
}
