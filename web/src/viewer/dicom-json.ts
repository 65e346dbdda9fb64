/**
 * DICOM JSON (PS3.18 F.2) as WADO-RS /metadata returns it: the few reads the viewer needs, and the
 * study → series → frames layout. Pure functions (no Cornerstone), unit-tested.
 */

export interface DicomJsonElement {
  vr?: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}
export type DicomJson = Record<string, DicomJsonElement>;

export function str(ds: DicomJson, tag: string): string {
  const value = ds[tag]?.Value?.[0];
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') {
    const pn = value as { Alphabetic?: string };
    return pn.Alphabetic ?? '';
  }
  return String(value);
}

export function num(ds: DicomJson, tag: string): number | undefined {
  const value = ds[tag]?.Value?.[0];
  const n = typeof value === 'number' ? value : Number(value);
  return value === undefined || value === null || value === '' || Number.isNaN(n) ? undefined : n;
}

export function nums(ds: DicomJson, tag: string): number[] {
  return (ds[tag]?.Value ?? []).map((v) => Number(v)).filter((n) => !Number.isNaN(n));
}

export const TAG = {
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SOPInstanceUID: '00080018',
  SOPClassUID: '00080016',
  SeriesNumber: '00200011',
  SeriesDescription: '0008103E',
  Modality: '00080060',
  InstanceNumber: '00200013',
  NumberOfFrames: '00280008',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
  PatientName: '00100010',
  PatientID: '00100020',
  StudyDate: '00080020',
  StudyDescription: '00081030',
  PixelSpacing: '00280030',
  TransferSyntaxUID: '00020010',
  SliceLocation: '00201041',
  FrameTime: '00181063',
  CineRate: '00180040',
  RecommendedDisplayFrameRate: '00082144',
} as const;

export interface ViewerFrame {
  /** WADO-RS path (no origin): /dicom-web/studies/…/series/…/instances/…/frames/N */
  path: string;
  sopInstanceUid: string;
  frame: number;
  /** The instance's metadata (shared by its frames). */
  instance: DicomJson;
  /** Position along the slice normal in mm (undefined without position/orientation). */
  position?: number;
}

export interface ViewerSeries {
  seriesInstanceUid: string;
  seriesNumber: number | null;
  description: string;
  modality: string;
  /** Instances in the series. */
  imageCount: number;
  frames: ViewerFrame[];
}

export interface ViewerStudy {
  studyInstanceUid: string;
  patientName: string;
  patientId: string;
  studyDate: string;
  studyDescription: string;
  series: ViewerSeries[];
  totalFrames: number;
}

export function framePath(study: string, series: string, sop: string, frame: number): string {
  return `/dicom-web/studies/${study}/series/${series}/instances/${sop}/frames/${frame}`;
}

/** The slice normal (row × column direction cosines), or undefined without ImageOrientationPatient. */
export function sliceNormal(ds: DicomJson): [number, number, number] | undefined {
  const iop = nums(ds, TAG.ImageOrientationPatient);
  if (iop.length !== 6) return undefined;
  const [a, b, c, d, e, f] = iop as [number, number, number, number, number, number];
  return [b * f - c * e, c * d - a * f, a * e - b * d];
}

/** Position along the slice normal in mm, for ordering a stack and linking two stacks. */
export function slicePosition(ds: DicomJson): number | undefined {
  const ipp = nums(ds, TAG.ImagePositionPatient);
  const normal = sliceNormal(ds);
  if (ipp.length !== 3 || !normal) return undefined;
  return normal[0] * ipp[0]! + normal[1] * ipp[1]! + normal[2] * ipp[2]!;
}

/** What the overlay shows as the slice position: SliceLocation, else the position along the normal. */
export function sliceLocationLabel(ds: DicomJson): string {
  const location = num(ds, TAG.SliceLocation) ?? slicePosition(ds);
  return location === undefined ? '' : `${Number(location.toFixed(2))} mm`;
}

/**
 * Two series can be scroll-linked when both have positions and the same orientation (normals within
 * about 8°, either direction).
 */
export function sameOrientation(a: ViewerSeries, b: ViewerSeries): boolean {
  const na = a.frames[0] && sliceNormal(a.frames[0].instance);
  const nb = b.frames[0] && sliceNormal(b.frames[0].instance);
  if (!na || !nb) return false;
  if (![a, b].every((s) => s.frames.every((f) => f.position !== undefined))) return false;
  return Math.abs(na[0] * nb[0] + na[1] * nb[1] + na[2] * nb[2]) > 0.99;
}

/** Cine rate in frames per second: RecommendedDisplayFrameRate, CineRate, 1000/FrameTime, else `fallback`. */
export function cineFrameRate(ds: DicomJson, fallback = 10): number {
  const rate = num(ds, TAG.RecommendedDisplayFrameRate) ?? num(ds, TAG.CineRate);
  if (rate && rate > 0) return Math.min(rate, 60);
  const frameTime = num(ds, TAG.FrameTime);
  if (frameTime && frameTime > 0) return Math.min(1000 / frameTime, 60);
  return fallback;
}

/** Modalities and SOP class roots of objects without pixels: documents (the signed report PDF), SR, key objects, presentation states. */
const NOT_IMAGE_MODALITIES = new Set(['DOC', 'SR', 'KO', 'PR']);
const NOT_IMAGE_CLASS_ROOTS = ['1.2.840.10008.5.1.4.1.1.104.', '1.2.840.10008.5.1.4.1.1.88.', '1.2.840.10008.5.1.4.1.1.11.'];

/** Whether an instance has frames to show (a stack would otherwise ask the archive for frames it does not have). */
export function isImage(ds: DicomJson): boolean {
  const sopClass = str(ds, TAG.SOPClassUID);
  return !NOT_IMAGE_MODALITIES.has(str(ds, TAG.Modality)) && !NOT_IMAGE_CLASS_ROOTS.some((root) => sopClass.startsWith(root));
}

/**
 * Groups WADO-RS study metadata into series (ordered by series number) and frames (ordered in the
 * stack). Objects without pixels are left out.
 */
export function layoutStudy(all: DicomJson[]): ViewerStudy {
  const instances = all.filter(isImage);
  // A study of documents only still shows whose and what it is (with no series).
  const first = instances[0] ?? all[0] ?? {};
  const bySeries = new Map<string, DicomJson[]>();
  for (const ds of instances) {
    const uid = str(ds, TAG.SeriesInstanceUID);
    const list = bySeries.get(uid) ?? [];
    list.push(ds);
    bySeries.set(uid, list);
  }
  const studyUid = str(first, TAG.StudyInstanceUID);
  const series: ViewerSeries[] = [...bySeries.entries()].map(([uid, list]) => {
    const positions = list.map(slicePosition);
    const usePosition = positions.every((p) => p !== undefined) && new Set(positions).size === positions.length;
    // Stacks scroll head-to-feet for axial CT (highest position first); instance number order otherwise.
    const sorted = list
      .map((ds, i) => ({ ds, key: usePosition ? -(positions[i] as number) : (num(ds, TAG.InstanceNumber) ?? i) }))
      .sort((x, y) => x.key - y.key);
    const frames: ViewerFrame[] = [];
    for (const { ds } of sorted) {
      const sop = str(ds, TAG.SOPInstanceUID);
      const count = Math.max(1, num(ds, TAG.NumberOfFrames) ?? 1);
      const position = slicePosition(ds);
      for (let f = 1; f <= count; f++)
        frames.push({
          path: framePath(studyUid, uid, sop, f),
          sopInstanceUid: sop,
          frame: f,
          instance: ds,
          ...(position === undefined ? {} : { position }),
        });
    }
    const head = list[0] ?? {};
    return {
      seriesInstanceUid: uid,
      seriesNumber: num(head, TAG.SeriesNumber) ?? null,
      description: str(head, TAG.SeriesDescription),
      modality: str(head, TAG.Modality),
      imageCount: list.length,
      frames,
    };
  });
  series.sort((a, b) => (a.seriesNumber ?? Number.MAX_SAFE_INTEGER) - (b.seriesNumber ?? Number.MAX_SAFE_INTEGER));
  return {
    studyInstanceUid: studyUid,
    patientName: str(first, TAG.PatientName).replace(/\^/g, ' ').trim(),
    patientId: str(first, TAG.PatientID),
    studyDate: str(first, TAG.StudyDate),
    studyDescription: str(first, TAG.StudyDescription),
    series,
    totalFrames: series.reduce((n, s) => n + s.frames.length, 0),
  };
}

/**
 * The first part of a WADO-RS multipart/related answer (one frame), and its transfer syntax. Orthanc
 * answers `multipart/related; type="application/octet-stream"; transfer-syntax=…; boundary=…`.
 * A non-multipart answer is returned whole.
 */
export function extractFrame(
  contentType: string,
  body: Uint8Array<ArrayBuffer>,
): { pixelData: Uint8Array<ArrayBuffer>; transferSyntax: string } {
  const outerTs = /transfer-syntax="?([0-9.]+)"?/i.exec(contentType)?.[1];
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!/^multipart\//i.test(contentType) || !boundary) return { pixelData: body, transferSyntax: outerTs ?? '1.2.840.10008.1.2.1' };
  const headerEnd = indexOf(body, encode('\r\n\r\n'), 0);
  if (headerEnd < 0) throw new Error('malformed multipart answer: no part header');
  const header = new TextDecoder().decode(body.subarray(0, headerEnd));
  const partTs = /transfer-syntax="?([0-9.]+)"?/i.exec(header)?.[1];
  const start = headerEnd + 4;
  let end = indexOf(body, encode(`\r\n--${boundary}`), start);
  if (end < 0) end = body.length;
  return { pixelData: body.slice(start, end), transferSyntax: partTs ?? outerTs ?? '1.2.840.10008.1.2.1' };
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  outer: for (
    let i = haystack.indexOf(first as number, from);
    i >= 0 && i <= haystack.length - needle.length;
    i = haystack.indexOf(first as number, i + 1)
  ) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
