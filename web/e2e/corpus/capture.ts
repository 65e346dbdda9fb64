/** Reading the viewport back and comparing it with a reference, pixel by pixel in image coordinates. */
import type { Page } from 'playwright-core';
import type { Bitmap } from './references';

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
