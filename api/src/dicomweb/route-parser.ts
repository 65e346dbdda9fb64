/**
 * Recognises the DICOMweb requests the proxy forwards and rebuilds them from their parsed parts.
 *
 * Only the QIDO-RS and WADO-RS routes Orthanc's DICOMweb plugin 1.7 serves are known; each UID is
 * checked against the DICOM UID grammar and the frame list against its own, and the path sent on is
 * written from those checked values, never from the client's string. That is what keeps dot
 * segments (`%2e%2e`, `..%2f`, `..\`), which fetch() and Orthanc would resolve, from ever reaching
 * Orthanc's other REST routes. The query string is re-encoded from the parsed parameters.
 *
 * Pure: no I/O, so every hostile spelling can be tested on its own (test/dicomweb-route-parser.test.ts).
 */

import type { ErrorCode } from '@pacs/shared';

export type SearchLevel = 'studies' | 'series' | 'instances';
/** What a WADO-RS request asks of its resource. */
export type RetrieveKind = 'dicom' | 'metadata' | 'rendered' | 'frames' | 'bulk';

export type DicomwebRoute =
  | { type: 'search'; level: SearchLevel; study?: string; series?: string }
  | {
      type: 'retrieve';
      kind: RetrieveKind;
      study: string;
      series?: string;
      instance?: string;
      /** frames: the numbers asked for (empty = all); rendered frames too. */
      frames?: number[];
      /** bulk: the tag path below the instance (hex tags and item indexes). */
      bulk?: string[];
    };

export interface ParsedRequest {
  route: DicomwebRoute;
  /** Parsed query parameters, in order (names as sent, values decoded). */
  query: [string, string][];
  /** `/studies/…?…` to append to Orthanc's DICOMweb root: built from `route` and `query` only. */
  upstreamPath: string;
}

/** The ERROR_CODES this parser refuses with. */
export type DicomwebRequestErrorCode = Extract<ErrorCode, `DICOMWEB_${string}`>;

export class DicomwebRequestError extends Error {
  override name = 'DicomwebRequestError';
  constructor(
    readonly statusCode: 400 | 404 | 414,
    readonly code: DicomwebRequestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const MAX_PATH_LENGTH = 2048;
export const MAX_QUERY_LENGTH = 4096;
const MAX_FRAMES = 1000;
const MAX_PARAMETERS = 64;
const MAX_VALUE_LENGTH = 1024;

/**
 * PS3.5 §9.1: dot-separated components of digits, none empty, at most 64 characters. (Leading zeros,
 * which the standard also forbids, are let through: archives hold such UIDs and they name no path.)
 */
const UID = /^[0-9]+(\.[0-9]+)*$/;
export function isDicomUid(value: string): boolean {
  return value.length > 0 && value.length <= 64 && UID.test(value);
}

/** A query parameter name: a keyword, a tag, or a dotted path of them (QIDO-RS), or a WADO-RS option. */
const PARAMETER_NAME = /^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$/;
const INCLUDE_FIELD = /^([A-Za-z][A-Za-z0-9]*|[0-9A-Fa-f]{8})(\.([A-Za-z][A-Za-z0-9]*|[0-9A-Fa-f]{8}))*$/;
// Control characters (NUL included) have no place in a DICOM match value or a WADO-RS option.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

function notFound(message: string): DicomwebRequestError {
  return new DicomwebRequestError(404, 'DICOMWEB_ROUTE_UNKNOWN', message);
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new DicomwebRequestError(400, 'DICOMWEB_BAD_ENCODING', 'malformed percent-encoding in the path');
  }
}

function uid(value: string, what: string): string {
  if (!isDicomUid(value)) {
    throw new DicomwebRequestError(400, 'DICOMWEB_BAD_UID', `${what} is not a DICOM UID (digits and dots, at most 64 characters)`);
  }
  return value;
}

function frameList(value: string): number[] {
  const parts = value.split(',');
  if (parts.length > MAX_FRAMES || !parts.every((part) => /^[1-9][0-9]{0,8}$/.test(part))) {
    throw new DicomwebRequestError(400, 'DICOMWEB_BAD_FRAME_LIST', 'frame list: comma-separated frame numbers from 1');
  }
  return parts.map(Number);
}

/** Orthanc's BulkDataURIs below an instance: `bulk/<tag>` or `bulk/<sequence tag>/<item>/<tag>…`. */
function bulkPath(segments: string[]): string[] {
  const valid =
    segments.length % 2 === 1 &&
    segments.length <= 15 &&
    segments.every((segment, i) => (i % 2 === 0 ? /^[0-9a-fA-F]{8}$/.test(segment) : /^(0|[1-9][0-9]{0,5})$/.test(segment)));
  if (!valid) throw new DicomwebRequestError(400, 'DICOMWEB_BAD_BULK_PATH', 'bulk data path: tags (8 hex digits) and item numbers');
  return segments.map((segment) => segment.toLowerCase());
}

/** Recognises the path below `/dicom-web` (already split into decoded segments). */
function routeOf(segments: string[]): DicomwebRoute {
  const [root, study, level2, series, level4, instance, level6, frames, level8, ...rest] = segments;
  const tooLong = (n: number) => segments.length > n;
  if (root === 'series' || root === 'instances') {
    if (segments.length === 1) return { type: 'search', level: root };
    throw notFound(`/${root} takes no further path (search with query parameters)`);
  }
  if (root !== 'studies') throw notFound('not a DICOMweb route: paths start with /studies, /series or /instances');
  if (study === undefined) return { type: 'search', level: 'studies' };
  const studyUid = uid(study, 'study UID');
  if (level2 === undefined) return { type: 'retrieve', kind: 'dicom', study: studyUid };
  if (level2 === 'metadata' || level2 === 'rendered') {
    if (tooLong(3)) throw notFound(`/${level2} takes no further path`);
    return { type: 'retrieve', kind: level2, study: studyUid };
  }
  if (level2 === 'instances') {
    if (tooLong(3)) throw notFound('instances of a study are searched, not retrieved, at this level');
    return { type: 'search', level: 'instances', study: studyUid };
  }
  if (level2 !== 'series') throw notFound(`unknown study resource "${level2.slice(0, 40)}"`);
  if (series === undefined) return { type: 'search', level: 'series', study: studyUid };
  const seriesUid = uid(series, 'series UID');
  if (level4 === undefined) return { type: 'retrieve', kind: 'dicom', study: studyUid, series: seriesUid };
  if (level4 === 'metadata' || level4 === 'rendered') {
    if (tooLong(5)) throw notFound(`/${level4} takes no further path`);
    return { type: 'retrieve', kind: level4, study: studyUid, series: seriesUid };
  }
  if (level4 !== 'instances') throw notFound(`unknown series resource "${level4.slice(0, 40)}"`);
  if (instance === undefined) return { type: 'search', level: 'instances', study: studyUid, series: seriesUid };
  const base = { type: 'retrieve' as const, study: studyUid, series: seriesUid, instance: uid(instance, 'SOP instance UID') };
  if (level6 === undefined) return { ...base, kind: 'dicom' };
  if (level6 === 'metadata' || level6 === 'rendered') {
    if (tooLong(7)) throw notFound(`/${level6} takes no further path`);
    return { ...base, kind: level6 };
  }
  if (level6 === 'bulk') return { ...base, kind: 'bulk', bulk: bulkPath(segments.slice(7)) };
  if (level6 !== 'frames') throw notFound(`unknown instance resource "${level6.slice(0, 40)}"`);
  if (frames === undefined) return { ...base, kind: 'frames', frames: [] };
  const numbers = frameList(frames);
  if (level8 === undefined) return { ...base, kind: 'frames', frames: numbers };
  if (level8 === 'rendered' && rest.length === 0) return { ...base, kind: 'rendered', frames: numbers };
  throw notFound('frames take only /rendered after the frame list');
}

/** The path of a route, written from its parsed parts. */
export function pathOf(route: DicomwebRoute): string {
  if (route.type === 'search') {
    if (!route.study) return `/${route.level}`;
    if (!route.series) return `/studies/${route.study}/${route.level}`;
    return `/studies/${route.study}/series/${route.series}/instances`;
  }
  let path = `/studies/${route.study}`;
  if (route.series) path += `/series/${route.series}`;
  if (route.instance) path += `/instances/${route.instance}`;
  switch (route.kind) {
    case 'dicom':
      return path;
    case 'metadata':
      return `${path}/metadata`;
    case 'bulk':
      return `${path}/bulk/${(route.bulk ?? []).join('/')}`;
    case 'frames':
      return route.frames?.length ? `${path}/frames/${route.frames.join(',')}` : `${path}/frames`;
    case 'rendered':
      return route.frames?.length ? `${path}/frames/${route.frames.join(',')}/rendered` : `${path}/rendered`;
  }
}

/**
 * Query parameters, checked and decoded. `includefield` lists are split on commas (sent encoded as
 * `%2C` by dicomweb-client and OHIF, which Orthanc 1.10 does not split) into one parameter each.
 */
function parseQuery(raw: string): [string, string][] {
  if (raw.length > MAX_QUERY_LENGTH) throw new DicomwebRequestError(414, 'DICOMWEB_QUERY_TOO_LONG', 'query string too long');
  const parameters: [string, string][] = [];
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const rawName = at < 0 ? pair : pair.slice(0, at);
    const rawValue = at < 0 ? '' : pair.slice(at + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replaceAll('+', ' '));
      value = decodeURIComponent(rawValue.replaceAll('+', ' '));
    } catch {
      throw new DicomwebRequestError(400, 'DICOMWEB_BAD_ENCODING', 'malformed percent-encoding in the query string');
    }
    if (!PARAMETER_NAME.test(name) || name.length > 64) {
      throw new DicomwebRequestError(400, 'DICOMWEB_BAD_PARAMETER', 'query parameter names are DICOM keywords, tags or options');
    }
    if (value.length > MAX_VALUE_LENGTH || CONTROL.test(value)) {
      throw new DicomwebRequestError(400, 'DICOMWEB_BAD_PARAMETER', `query parameter ${name}: value too long or with control characters`);
    }
    if (name.toLowerCase() === 'includefield') {
      for (const field of value.split(',').map((f) => f.trim())) {
        if (field === '') continue;
        if (field !== 'all' && !INCLUDE_FIELD.test(field)) {
          throw new DicomwebRequestError(400, 'DICOMWEB_BAD_PARAMETER', 'includefield: DICOM keywords or tags, or "all"');
        }
        parameters.push(['includefield', field]);
      }
    } else {
      parameters.push([name, value]);
    }
    if (parameters.length > MAX_PARAMETERS) throw new DicomwebRequestError(400, 'DICOMWEB_BAD_PARAMETER', 'too many query parameters');
  }
  return parameters;
}

export function queryString(parameters: [string, string][]): string {
  return parameters.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
}

/**
 * Parses the request URL below `/dicom-web` (e.g. `/studies/1.2.3/metadata?x=y`). Throws a
 * DicomwebRequestError (400/404/414, stable code) for anything that is not a known DICOMweb route.
 */
export function parseDicomwebRequest(rawUrl: string): ParsedRequest {
  const mark = rawUrl.indexOf('?');
  const rawPath = mark < 0 ? rawUrl : rawUrl.slice(0, mark);
  const rawQuery = mark < 0 ? '' : rawUrl.slice(mark + 1);
  if (rawPath.length > MAX_PATH_LENGTH) throw new DicomwebRequestError(414, 'DICOMWEB_PATH_TOO_LONG', 'path too long');
  if (!rawPath.startsWith('/')) throw notFound('not a DICOMweb route');
  // Decoded one segment at a time: a `%2F` or `%5C` stays inside its segment and fails its grammar.
  const segments = rawPath.slice(1).split('/').map(decodeSegment);
  if (segments.some((segment) => segment === '')) throw notFound('empty path segment (a "//" or a trailing "/")');
  const route = routeOf(segments);
  const query = parseQuery(rawQuery);
  const search = queryString(query);
  return { route, query, upstreamPath: search ? `${pathOf(route)}?${search}` : pathOf(route) };
}
