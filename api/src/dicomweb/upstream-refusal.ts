/**
 * What a client is told when Orthanc answers a forwarded DICOMweb request with an error: never
 * Orthanc's own 500 (a client, a monitor or an auditor would take it for a fault here) and never
 * its error body (it echoes Orthanc's internal URI). A 4xx keeps its status with Orthanc's short
 * reason; a frame or rendering of an instance without pixel data (a PDF report, a structured
 * report) is a 404 that says so, whatever Orthanc answered; any other 5xx, and Orthanc refusing
 * this server's own credentials, is a 502.
 */
import { HttpError } from '../http-errors';
import type { DicomwebRoute } from './route-parser';
import { readBounded } from './search-audit';

/** Pixel Data, Float Pixel Data, Double Float Pixel Data (PS3.6): one of them makes frames. */
const PIXEL_DATA_TAGS = ['7FE00010', '7FE00008', '7FE00009'];
const ROWS = '00280010';
/** Orthanc's error answers are a few hundred bytes; anything larger is not read for a reason. */
const MAX_ERROR_BODY = 16 * 1024;
/** Orthanc's reasons are a fixed vocabulary ("Parameter out of range", "Unknown resource"). */
const REASON = /^[A-Za-z][A-Za-z0-9 ,.'()-]{0,119}$/;

/** Fetches one instance's DICOM JSON metadata from Orthanc (null when it cannot be read). */
export type InstanceMetadataReader = (study: string, series: string, instance: string) => Promise<unknown>;

/** Orthanc's "Message", when it is one short plain sentence; never patient data, never its URI. */
function orthancReason(body: Buffer): string | null {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { Message?: unknown };
    return typeof parsed.Message === 'string' && REASON.test(parsed.Message) ? parsed.Message : null;
  } catch {
    return null;
  }
}

/** Orthanc's error answer, read up to a bound (an empty buffer when it is larger or cut off). */
export async function readErrorBody(upstream: Response): Promise<Buffer> {
  return readBounded(upstream, MAX_ERROR_BODY).catch(() => Buffer.alloc(0));
}

/**
 * True when the metadata (an array of one DICOM JSON dataset) shows no image: neither Rows nor a
 * pixel data attribute. Rows alone keeps it an image: Orthanc's metadata leaves the pixel data out
 * for some transfer syntaxes it cannot serve as frames (deflate, HTJ2K), and a viewer then fetches
 * the whole instance after the 502.
 */
export function lacksPixelData(metadata: unknown): boolean {
  const dataset = Array.isArray(metadata) ? metadata[0] : null;
  if (!dataset || typeof dataset !== 'object') return false;
  return !Object.hasOwn(dataset, ROWS) && !PIXEL_DATA_TAGS.some((tag) => Object.hasOwn(dataset, tag));
}

/** The error to answer for Orthanc's answer of `status` (≥ 400) and `body` to `route`. */
export async function upstreamRefusal(
  route: DicomwebRoute,
  status: number,
  body: Buffer,
  readInstanceMetadata: InstanceMetadataReader,
): Promise<HttpError> {
  const reason = orthancReason(body);
  if (route.type === 'retrieve' && (route.kind === 'frames' || route.kind === 'rendered') && route.series && route.instance) {
    const metadata = await readInstanceMetadata(route.study, route.series, route.instance).catch(() => null);
    if (lacksPixelData(metadata)) {
      return new HttpError(
        404,
        'this instance holds no pixel data (a document or report): it has no frames to send or render',
        'DICOMWEB_NO_PIXEL_DATA',
      );
    }
  }
  // Orthanc refusing its own credentials is this server's misconfiguration, not the client's
  // session: passed on as 401 it would sign the user out.
  if (status === 401 || status === 403 || status === 407) {
    return new HttpError(502, 'the image archive refused the credentials this server holds for it', 'ORTHANC_FAILED');
  }
  if (status >= 500) {
    return new HttpError(502, `the image archive failed to answer${reason ? `: ${reason}` : ''}`, 'ORTHANC_FAILED');
  }
  return new HttpError(status, `the image archive refused the request: ${reason ?? `HTTP ${status}`}`, 'DICOMWEB_ARCHIVE_REFUSED');
}
