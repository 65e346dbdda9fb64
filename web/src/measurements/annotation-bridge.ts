/**
 * Between Cornerstone annotations and stored measurements: an annotation's tool, image, points (in
 * image coordinates, as the image is rendered: image-coords.ts) and statistics become a measurement;
 * a stored measurement becomes an annotation on its image again, locked and drawn dashed in another
 * colour when someone else drew it.
 */
import { metaData, type StackViewport, type Types } from '@cornerstonejs/core';
import { annotation as csAnnotation } from '@cornerstonejs/tools';
import { isMeasurementTool, type Measurement, type MeasurementTool, type MeasurementUpdate } from '@pacs/shared';
import { imageToWorld, worldToImage } from '../viewer/image-coords';

export interface ImageRef {
  seriesInstanceUid: string;
  sopInstanceUid: string;
  frame: number;
}

const FRAME_PATH = /\/series\/([0-9.]+)\/instances\/([0-9.]+)\/frames\/(\d+)$/;

/** The image a WADO-RS (or offline) image id names. */
export function imageRefOf(imageId: string): ImageRef | null {
  const match = FRAME_PATH.exec(imageId);
  return match ? { seriesInstanceUid: match[1]!, sopInstanceUid: match[2]!, frame: Number(match[3]) } : null;
}

export const sameImage = (a: ImageRef, b: ImageRef) => a.sopInstanceUid === b.sopInstanceUid && a.frame === b.frame;

export type AnnotationLike = {
  annotationUID?: string;
  invalidated?: boolean;
  isLocked?: boolean;
  metadata: { toolName?: string; referencedImageId?: string } & Record<string, unknown>;
  data: {
    label?: string;
    cachedStats?: Record<string, Record<string, unknown>>;
    handles?: { points?: Types.Point3[] } & Record<string, unknown>;
  } & Record<string, unknown>;
} & Record<string, unknown>;

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const distance = (a: Types.Point3, b: Types.Point3) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** What is stored of an annotation, or null while Cornerstone has not computed its statistics yet. */
export function shapeOf(annotation: AnnotationLike): (MeasurementUpdate & { tool: MeasurementTool } & ImageRef) | null {
  const tool = annotation.metadata.toolName;
  const imageId = annotation.metadata.referencedImageId ?? '';
  const image = imageRefOf(imageId);
  const points = annotation.data.handles?.points ?? [];
  if (!isMeasurementTool(tool) || !image || annotation.invalidated) return null;
  const stats = Object.values(annotation.data.cachedStats ?? {})[0];
  if (!stats) return null;
  const plane = metaData.get('imagePlaneModule', imageId) ?? {};
  const values: MeasurementUpdate['values'] = {};
  const units: MeasurementUpdate['units'] = {};
  const unit = (value: unknown) => (typeof value === 'string' && value.length <= 16 ? value : undefined);
  if (tool === 'Length') {
    if (!finite(stats.length)) return null;
    values.length = round(stats.length, 3);
    units.length = unit(stats.unit) ?? 'mm';
  } else if (tool === 'Angle') {
    if (!finite(stats.angle)) return null;
    values.angle = round(stats.angle, 3);
  } else {
    const [bottom, top, left, right] = points;
    if (!bottom || !top || !left || !right) return null;
    const axes = [distance(bottom, top), distance(left, right)].sort((a, b) => b - a);
    values.majorAxis = round(axes[0]!, 3);
    values.minorAxis = round(axes[1]!, 3);
    for (const name of ['mean', 'stdDev', 'area'] as const) if (finite(stats[name])) values[name] = round(stats[name], 3);
    units.length = 'mm';
    const area = unit(stats.areaUnit);
    const modality = unit(stats.modalityUnit);
    if (area) units.area = area;
    if (modality) units.modality = modality;
  }
  return {
    tool,
    ...image,
    label: (annotation.data.label ?? '').slice(0, 200),
    points: points.map((p) => worldToImage(plane, p).map((v) => round(v, 3))),
    values,
    units,
  };
}

/** Puts a stored measurement on the viewport that shows its image (once); the id is the annotation's UID. */
export function showMeasurement(viewport: StackViewport, imageId: string, measurement: Measurement): void {
  if (csAnnotation.state.getAnnotation(measurement.id)) return;
  const plane = metaData.get('imagePlaneModule', imageId) ?? {};
  const camera = viewport.getCamera();
  const corner = [0, 0, 0] as Types.Point3;
  const created: AnnotationLike = {
    annotationUID: measurement.id,
    highlighted: false,
    invalidated: true,
    isLocked: !measurement.mine,
    isVisible: true,
    metadata: {
      toolName: measurement.tool,
      referencedImageId: imageId,
      FrameOfReferenceUID: viewport.getFrameOfReferenceUID(),
      viewPlaneNormal: camera.viewPlaneNormal,
      viewUp: camera.viewUp,
    },
    data: {
      label: measurement.label,
      cachedStats: {},
      handles: {
        points: measurement.points.map((p) => imageToWorld(plane, p) as Types.Point3),
        activeHandleIndex: null,
        textBox: {
          hasMoved: false,
          worldPosition: corner,
          worldBoundingBox: { topLeft: corner, topRight: corner, bottomLeft: corner, bottomRight: corner },
        },
      },
    },
  };
  csAnnotation.state.addAnnotation(created as unknown as Parameters<typeof csAnnotation.state.addAnnotation>[0], viewport.element);
  if (!measurement.mine) {
    csAnnotation.locking.setAnnotationLocked(measurement.id, true);
    csAnnotation.config.style.setAnnotationStyles(measurement.id, { color: 'rgb(255, 176, 0)', lineDash: '4,3' });
  }
}
