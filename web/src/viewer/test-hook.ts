/**
 * `window.__pacsViewer`: a read-only view of the viewports for the e2e suite and the benchmarks (no
 * patient data beyond what the page shows). `pane` 0 is the left viewport, 1 the right one.
 */
import { cache, metaData, type StackViewport, type Types } from '@cornerstonejs/core';
import { annotation } from '@cornerstonejs/tools';
import { imageToWorld, worldToImage } from './image-coords';
import { imageToPage, type StackViewerHandle } from './StackViewer';

/** One annotation as the tests read it. `stale`: its handles moved and Cornerstone has not recomputed the stats yet. */
export interface MeasurementState {
  tool: string;
  stale: boolean;
  /** Handles in image coordinates (column, row; pixel centres at +0.5), as the image is rendered (image-coords.ts). */
  points: number[][];
  stats: { length?: number; angle?: number; mean?: number; stdDev?: number; area?: number; unit?: string; modalityUnit?: string };
  /** What the viewport draws beside the annotation. */
  text: string;
}

type AnnotationLike = {
  annotationUID?: string;
  invalidated?: boolean;
  metadata?: { toolName?: string; referencedImageId?: string };
  data?: { cachedStats?: Record<string, Record<string, unknown>>; handles?: { points?: Types.Point3[] } };
};

function measurements(vp: StackViewport, element: HTMLElement): MeasurementState[] {
  const shown = new Set(vp.getImageIds());
  const all = annotation.state.getAllAnnotations() as AnnotationLike[];
  return all
    .filter((a) => shown.has(a.metadata?.referencedImageId ?? ''))
    .map((a) => {
      const stats = Object.values(a.data?.cachedStats ?? {})[0] ?? {};
      const pick = (name: string) => (typeof stats[name] === 'number' ? (stats[name] as number) : undefined);
      const svgText = a.annotationUID
        ? [...element.querySelectorAll(`[data-annotation-uid="${a.annotationUID}"] text`)].map((t) => t.textContent ?? '').join(' ')
        : '';
      return {
        tool: a.metadata?.toolName ?? '',
        stale: !!a.invalidated,
        points: (a.data?.handles?.points ?? []).map((p) => [
          ...worldToImage(metaData.get('imagePlaneModule', a.metadata?.referencedImageId ?? '') ?? {}, p),
        ]),
        stats: {
          length: pick('length'),
          angle: pick('angle'),
          mean: pick('mean'),
          stdDev: pick('stdDev'),
          area: pick('area'),
          unit: typeof stats.unit === 'string' ? stats.unit : undefined,
          modalityUnit: typeof stats.modalityUnit === 'string' ? stats.modalityUnit : undefined,
        },
        text: svgText,
      };
    });
}

/** The rendered pixels of a viewport canvas (WebGL output copied through a 2D canvas to be readable). */
function readCanvas(canvas: HTMLCanvasElement): ImageData | null {
  const copy = document.createElement('canvas');
  copy.width = canvas.width;
  copy.height = canvas.height;
  const ctx = copy.getContext('2d');
  if (!ctx) return null;
  ctx.drawImage(canvas, 0, 0);
  return ctx.getImageData(0, 0, copy.width, copy.height);
}

export function installViewerHook(source: () => string | null, handles: () => readonly (StackViewerHandle | null)[]): void {
  const handle = (pane = 0) => handles()[pane] ?? null;
  const hook = {
    source,
    panes: () => handles().filter(Boolean).length,
    /** Cornerstone's decoded-image cache budget (config.ts) and what it holds now. */
    cache: () => ({ maxBytes: cache.getMaxCacheSize(), usedBytes: cache.getCacheSize() }),
    /** How many images of the pane's stack are decoded in the cache (prefetch.ts fills it ahead of scrolling). */
    decodedInStack: (pane = 0) =>
      handle(pane)
        ?.viewport.getImageIds()
        .filter((id) => cache.isLoaded(id)).length ?? 0,
    state: (pane = 0) => {
      const h = handle(pane);
      if (!h) return null;
      const vp = h.viewport;
      const props = vp.getProperties();
      const range = props.voiRange;
      const presentation = vp.getViewPresentation();
      const measured = measurements(vp, h.element);
      const lengths = measured.filter((m) => m.tool === 'Length');
      return {
        index: vp.getCurrentImageIdIndex(),
        count: vp.getImageIds().length,
        imageId: vp.getCurrentImageId(),
        voi: range ? { lower: range.lower, upper: range.upper } : null,
        invert: !!props.invert,
        rotation: Math.round(presentation.rotation ?? 0) % 360,
        flipHorizontal: !!presentation.flipHorizontal,
        flipVertical: !!presentation.flipVertical,
        zoom: vp.getZoom(),
        pan: vp.getPan(),
        measurements: measured,
        lengths: lengths.map((m) => m.stats.length ?? Number.NaN),
        lengthPoints: lengths.map((m) => m.points),
        /** [horizontal (between columns), vertical (between rows)] in mm: x, y order, not DICOM PixelSpacing's row\column. */
        pixelSpacing: (vp.getImageData()?.spacing ?? []).slice(0, 2),
        dimensions: vp.getImageData()?.dimensions ?? null,
      };
    },
    imageToPage: (x: number, y: number, pane = 0) => {
      const h = handle(pane);
      return h ? imageToPage(h, x, y) : null;
    },
    scalarHash: (pane = 0) => {
      const data = handle(pane)?.viewport.getImageData()?.scalarData as ArrayLike<number> | undefined;
      if (!data) return null;
      let hash = 2166136261;
      for (let i = 0; i < data.length; i++) hash = Math.imul(hash ^ (data[i]! & 0xffff), 16777619) >>> 0;
      return { hash, length: data.length };
    },
    canvasStats: (pane = 0) => {
      const canvas = handle(pane)?.element.querySelector('canvas');
      const pixels = canvas ? readCanvas(canvas) : null;
      if (!pixels) return null;
      const { data } = pixels;
      let nonBlack = 0;
      let hash = 2166136261;
      const levels = new Set<number>();
      for (let i = 0; i < data.length; i += 4) {
        const v = data[i]!;
        if (v > 8 || data[i + 1]! > 8 || data[i + 2]! > 8) nonBlack++;
        levels.add(v);
        hash = Math.imul(hash ^ v, 16777619) >>> 0;
      }
      return { width: pixels.width, height: pixels.height, nonBlackFraction: nonBlack / (data.length / 4), levels: levels.size, hash };
    },
    /** Grey level (red channel) of the rendered canvas at an image pixel, to see inversion, rotation and flips. */
    canvasPixel: (x: number, y: number, pane = 0) => {
      const h = handle(pane);
      const canvas = h?.element.querySelector('canvas');
      if (!h || !canvas) return null;
      const world = imageToWorld(metaData.get('imagePlaneModule', h.viewport.getCurrentImageId()) ?? {}, [x, y]) as Types.Point3;
      const [cx, cy] = h.viewport.worldToCanvas(world);
      const scale = canvas.width / canvas.getBoundingClientRect().width;
      const pixels = readCanvas(canvas);
      if (!pixels) return null;
      const [px, py] = [Math.floor(cx * scale), Math.floor(cy * scale)];
      // Outside the canvas reads as transparent black, as getImageData would.
      if (px < 0 || py < 0 || px >= pixels.width || py >= pixels.height) return 0;
      return pixels.data[4 * (py * pixels.width + px)] ?? null;
    },
  };
  (window as unknown as { __pacsViewer?: typeof hook }).__pacsViewer = hook;
}
