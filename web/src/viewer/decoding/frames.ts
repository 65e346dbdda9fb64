/**
 * Frames Orthanc cannot send as stored.
 *
 * - Orthanc 1.10 with DICOMweb 1.7 answers HTTP 500 to `transfer-syntax=*` for an instance stored in
 *   Explicit VR Big Endian or Deflated Explicit VR Little Endian, but transcodes it to Explicit VR
 *   Little Endian when asked for that. The image loader always asks for `*`, so a 5xx is retried with
 *   an Explicit VR Little Endian request; the instance is remembered so its other frames ask that way.
 * - For a syntax Orthanc's DCMTK does not know (HTJ2K), it also answers 500, and its "Explicit VR
 *   Little Endian" answer is the compressed bytes mislabelled (wrong length). Then the instance's
 *   Part-10 file is fetched whole (WADO-RS retrieve instance, as stored) and the frame is cut out of it
 *   here, in its own transfer syntax, for the loader's decoders.
 */
import * as dicomParser from 'dicom-parser';
import { type DicomJson, extractFrame } from '../dicom-json';

export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const EXPLICIT_LE_ACCEPT = `multipart/related; type="application/octet-stream"; transfer-syntax=${EXPLICIT_LE}`;
export const INSTANCE_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*';

export interface Frame {
  pixelData: Uint8Array<ArrayBuffer>;
  transferSyntax: string;
}

/** The instance part of a WADO-RS frame URI (…/instances/UID), the unit Orthanc stores a syntax for. */
export function instanceKey(frameUri: string): string {
  return frameUri.replace(/\/frames\/[^/]*$/, '');
}

/** 1-based frame number of a WADO-RS frame URI. */
export function frameNumber(frameUri: string): number {
  return Number(/\/frames\/(\d+)$/.exec(frameUri)?.[1] ?? '1');
}

/** True for a loader failure worth another way of fetching the frame: the server failed (5xx). */
export function isServerFailure(error: unknown): boolean {
  const status = (error as { status?: number } | null)?.status;
  return typeof status === 'number' && status >= 500 && status < 600;
}

/**
 * GET with an Accept header; a failure carries the HTTP `status` (see isServerFailure). The functions
 * below take either request headers (global fetch) or such a getter (the authenticated one of OfflineStudies).
 */
export type Getter = (uri: string, accept: string) => Promise<{ contentType: string; body: Uint8Array<ArrayBuffer> }>;

function getterFor(headers: Record<string, string> | Getter): Getter {
  if (typeof headers === 'function') return headers;
  return async (uri, accept) => {
    const response = await fetch(uri, { headers: { ...headers, Accept: accept } });
    if (!response.ok) throw Object.assign(new Error(`The archive answered HTTP ${response.status}.`), { status: response.status });
    return { contentType: response.headers.get('content-type') ?? '', body: new Uint8Array(await response.arrayBuffer()) };
  };
}

export const STORED_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

/** One frame as stored (`transfer-syntax=*`, what the image loader asks for). */
export async function fetchFrame(frameUri: string, headers: Record<string, string> | Getter): Promise<Frame> {
  const { contentType, body } = await getterFor(headers)(frameUri, STORED_ACCEPT);
  return extractFrame(contentType, body);
}

/** Bytes of one native frame from the instance's metadata (rows × columns × samples × bits / 8; 0 when unknown). */
export function nativeFrameBytes(instance: DicomJson | undefined): number {
  if (!instance) return 0;
  const n = (tag: string) => Number(instance[tag]?.Value?.[0] ?? 0);
  return Math.ceil((n('00280010') * n('00280011') * Math.max(1, n('00280002')) * n('00280100')) / 8);
}

/** How a frame was fetched: as stored, transcoded to Explicit VR Little Endian, or cut out of the whole instance. */
export type FrameRoute = 'stored' | 'explicit-le' | 'instance';

/**
 * One frame the loader's decoders can take, whatever the archive stores: as stored; on a server failure
 * (5xx) as Explicit VR Little Endian; failing that, cut out of the instance's Part-10 file (the order the
 * viewer's wadors loader follows, cornerstone.ts). `route` starts at a route known for the instance.
 */
export async function fetchDecodableFrame(
  frameUri: string,
  headers: Record<string, string> | Getter,
  options: {
    instance?: DicomJson;
    getPixelData?: (dataSet: dicomParser.DataSet, frameIndex: number) => Uint8Array;
    route?: FrameRoute;
  } = {},
): Promise<{ frame: Frame; route: FrameRoute }> {
  const getter = getterFor(headers);
  const explicitLe = async () => ({
    frame: await fetchFrameAsExplicitLE(frameUri, getter, nativeFrameBytes(options.instance)),
    route: 'explicit-le' as const,
  });
  const instance = async () => {
    if (!options.getPixelData) throw new Error('no way to cut a frame out of an instance');
    return { frame: await fetchFrameFromInstance(frameUri, getter, options.getPixelData), route: 'instance' as const };
  };
  if (options.route === 'explicit-le') return explicitLe();
  if (options.route === 'instance') return instance();
  try {
    return { frame: await fetchFrame(frameUri, getter), route: 'stored' };
  } catch (error) {
    if (!isServerFailure(error)) throw error;
    try {
      return await explicitLe();
    } catch {
      return instance().catch(() => {
        throw error;
      });
    }
  }
}

/**
 * One frame as Explicit VR Little Endian. `expectedBytes` (rows × columns × samples × bits / 8) guards
 * against a server that labels bytes it could not transcode as native.
 */
export async function fetchFrameAsExplicitLE(
  frameUri: string,
  headers: Record<string, string> | Getter,
  expectedBytes?: number,
): Promise<Frame> {
  const { contentType, body } = await getterFor(headers)(frameUri, EXPLICIT_LE_ACCEPT);
  const frame = extractFrame(contentType, body);
  if (expectedBytes && frame.transferSyntax === EXPLICIT_LE && frame.pixelData.byteLength < expectedBytes)
    throw new Error(`native frame of ${frame.pixelData.byteLength} bytes, expected ${expectedBytes}`);
  return frame;
}

/** One frame cut out of the instance's Part-10 file, in the file's own transfer syntax. */
export async function fetchFrameFromInstance(
  frameUri: string,
  headers: Record<string, string> | Getter,
  getPixelData: (dataSet: dicomParser.DataSet, frameIndex: number) => Uint8Array,
): Promise<Frame> {
  const { contentType, body } = await getterFor(headers)(instanceKey(frameUri), INSTANCE_ACCEPT);
  const file = /^multipart\//i.test(contentType) ? extractFrame(contentType, body).pixelData : body;
  const dataSet = dicomParser.parseDicom(file);
  const transferSyntax = dataSet.string('x00020010')?.trim();
  if (!transferSyntax) throw new Error('the archive sent an instance without a transfer syntax');
  const pixels = getPixelData(dataSet, frameNumber(frameUri) - 1);
  return { pixelData: new Uint8Array(pixels) as Uint8Array<ArrayBuffer>, transferSyntax };
}
