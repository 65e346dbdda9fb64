/**
 * Measurements drawn in the viewer and kept per study and user, and key images: the tools, how many
 * image-space points each stores, the sentence a measurement becomes in a report, and the viewer link
 * that opens its image again. Pure: the API validates with it, the web app formats with it.
 */

/** Cornerstone3D tool names, as the viewer registers them. */
export const MEASUREMENT_TOOLS = ['Length', 'Angle', 'EllipticalROI'] as const;
export type MeasurementTool = (typeof MEASUREMENT_TOOLS)[number];

/** Handles per tool: a length's two ends, an angle's three vertices, an ellipse's bottom, top, left and right. */
export const MEASUREMENT_POINT_COUNT: Readonly<Record<MeasurementTool, number>> = { Length: 2, Angle: 3, EllipticalROI: 4 };

/** Largest image coordinate accepted (pixels): images are at most 65535 wide; room for handles dragged off it. */
export const MAX_IMAGE_COORDINATE = 1_000_000;

export function isMeasurementTool(value: unknown): value is MeasurementTool {
  return typeof value === 'string' && (MEASUREMENT_TOOLS as readonly string[]).includes(value);
}

export const DEFAULT_MEASUREMENT_LABEL: Readonly<Record<MeasurementTool, string>> = {
  Length: 'Length',
  Angle: 'Angle',
  EllipticalROI: 'Region',
};

export interface MeasuredValues {
  length?: number;
  angle?: number;
  mean?: number;
  stdDev?: number;
  area?: number;
  /** Ellipse diameters (longer first). */
  majorAxis?: number;
  minorAxis?: number;
}

export interface MeasurementUnits {
  length?: string;
  area?: string;
  /** The pixel values' unit, e.g. HU. */
  modality?: string;
}

export interface MeasurementPlace {
  /** Series Number and Instance Number as the archive has them; null when unknown. */
  seriesNumber: number | null;
  instanceNumber: number | null;
  frame: number;
}

const fixed = (value: number | undefined, digits = 1) => (value === undefined ? '?' : value.toFixed(digits));

/** The measured part of a report sentence, e.g. "23.4 × 18.1 mm (mean 40.2 HU, SD 9.8 HU)". */
export function measurementValueText(tool: MeasurementTool, values: MeasuredValues, units: MeasurementUnits): string {
  const length = units.length || 'mm';
  if (tool === 'Length') return `${fixed(values.length)} ${length}`;
  if (tool === 'Angle') return `${fixed(values.angle)}°`;
  const modality = units.modality ? ` ${units.modality}` : '';
  const stats = values.mean === undefined ? '' : ` (mean ${fixed(values.mean)}${modality}, SD ${fixed(values.stdDev)}${modality})`;
  return `${fixed(values.majorAxis)} × ${fixed(values.minorAxis)} ${length}${stats}`;
}

/** Where the image is, in the words a report uses: "series 3 image 42" (", frame 5" for a multi-frame image). */
export function measurementPlaceText(place: MeasurementPlace): string {
  const series = `series ${place.seriesNumber ?? '?'}`;
  const image = `image ${place.instanceNumber ?? '?'}`;
  return place.frame > 1 ? `${series} ${image}, frame ${place.frame}` : `${series} ${image}`;
}

/** "Lesion: 23.4 × 18.1 mm, series 3 image 42". */
export function measurementSentence(
  measurement: { tool: MeasurementTool; label: string; values: MeasuredValues; units: MeasurementUnits },
  place: MeasurementPlace,
): string {
  const label = measurement.label.trim() || DEFAULT_MEASUREMENT_LABEL[measurement.tool];
  return `${label}: ${measurementValueText(measurement.tool, measurement.values, measurement.units)}, ${measurementPlaceText(place)}`;
}

export interface ViewerTarget {
  studyId: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  frame: number;
  measurementId?: string;
}

/** The app path that opens the viewer at this image (and shows this measurement). UIDs and UUIDs need no escaping. */
export function viewerLink(target: ViewerTarget): string {
  const query = [`series=${target.seriesInstanceUid}`, `instance=${target.sopInstanceUid}`];
  if (target.frame > 1) query.push(`frame=${target.frame}`);
  if (target.measurementId) query.push(`measurement=${target.measurementId}`);
  return `/viewer/${target.studyId}?${query.join('&')}`;
}

const UID = /^[0-9]+(\.[0-9]+)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LINK = /^\/viewer\/([0-9a-fA-F-]{36})\?([A-Za-z0-9.=&-]*)$/;

/** Reads a viewer link back (a report's link, the viewer's address); null for anything that is not one. */
export function parseViewerLink(href: string): ViewerTarget | null {
  const match = LINK.exec(href);
  if (!match) return null;
  const params = new Map<string, string>();
  for (const pair of match[2]!.split('&')) {
    const [name, value = ''] = pair.split('=');
    if (name) params.set(name, value);
  }
  const studyId = match[1]!;
  const series = params.get('series') ?? '';
  const instance = params.get('instance') ?? '';
  const frame = Number(params.get('frame') ?? '1');
  const measurementId = params.get('measurement');
  if (!UUID.test(studyId) || !UID.test(series) || !UID.test(instance) || !Number.isInteger(frame) || frame < 1) return null;
  if (measurementId !== undefined && !UUID.test(measurementId)) return null;
  return { studyId, seriesInstanceUid: series, sopInstanceUid: instance, frame, ...(measurementId ? { measurementId } : {}) };
}
