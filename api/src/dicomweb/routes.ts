/**
 * /dicom-web/* → Orthanc's DICOMweb (QIDO-RS, WADO-RS metadata, frames, rendered, bulk data),
 * streamed, with Orthanc's credentials added here so none ever reaches a browser. Only recognised
 * DICOMweb routes go through, rebuilt from their parsed parts (route-parser.ts): the credentials
 * open all of Orthanc's REST API, so nothing the client spells may choose another Orthanc route.
 * Each study is audited once per user session, not once per frame; a search is audited with its
 * criteria and the studies it returned. Study metadata is answered from a cache
 * (metadata-cache.ts) when Orthanc says the study has not changed.
 */
import { Readable } from 'node:stream';
import { outcomeForStatus } from '@pacs/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../http-errors';
import { OrthancUnavailable } from '../ingest/orthanc-client';
import { noteWindow } from '../restricted-access/policy';
import { type CachedMetadata, StudyMetadataCache } from './metadata-cache';
import { DicomwebRequestError, type ParsedRequest, parseDicomwebRequest } from './route-parser';
import { readBounded, resultsOf, SearchAnswerTooLarge, searchDetails } from './search-audit';
import { TranscodingGuard, TranscodingRefused } from './transcoding-guard';
import { readErrorBody, upstreamRefusal } from './upstream-refusal';

/** Request headers a DICOMweb client needs passed on (transfer syntax in Accept, ranges, validators). */
const FORWARDED_REQUEST_HEADERS = ['accept', 'range', 'if-none-match', 'if-modified-since', 'if-range'];
/** Response headers passed back (multipart boundary lives in content-type). */
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'etag', 'last-modified'];
const SESSION_AUDIT_TTL_MS = 8 * 3600 * 1000;

/** Remembers which (session, study) pairs were audited, so a viewer's hundreds of frame requests write one row. */
class AuditedAccess {
  private readonly seen = new Map<string, number>();
  firstTime(key: string): boolean {
    const now = Date.now();
    const at = this.seen.get(key);
    if (at !== undefined && now - at < SESSION_AUDIT_TTL_MS) return false;
    if (this.seen.size > 50_000) this.seen.clear();
    this.seen.set(key, now);
    return true;
  }
  forget(key: string): void {
    this.seen.delete(key);
  }
}

/** Whether the client takes the JSON form (the cache holds only that) … */
function wantsJson(accept: string | undefined): boolean {
  return !accept || /(^|,)\s*(application\/dicom\+json|application\/json|\*\/\*)\s*(;|,|$)/.test(accept);
}
/** … and gzip (not refused with q=0). */
function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return /(^|,)\s*gzip\s*(,|$|;\s*q=(?!0(\.0*)?\s*(,|$)))/.test(acceptEncoding ?? '');
}

async function sendCached(request: FastifyRequest, reply: FastifyReply, cached: CachedMetadata) {
  reply.header('cache-control', 'private, no-cache');
  reply.header('etag', cached.etag);
  reply.header('vary', 'accept-encoding');
  reply.header('content-type', cached.contentType);
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch?.split(',').some((tag) => tag.trim() === cached.etag)) return reply.code(304).send();
  if (acceptsGzip(request.headers['accept-encoding'])) {
    reply.header('content-encoding', 'gzip');
    reply.header('content-length', cached.gzipped.length);
    return reply.send(cached.gzipped);
  }
  const body = await StudyMetadataCache.body(cached);
  reply.header('content-length', body.length);
  return reply.send(body);
}

export default async function dicomwebRoutes(app: FastifyInstance) {
  const audited = new AuditedAccess();
  /** Patient id and Orthanc id of ingested studies (neither changes: Orthanc derives its id from the UIDs). */
  const studies = new Map<string, { patientId: string; orthancId: string | null }>();
  const metadataCache = app.ingestion?.metadataCache ?? null;
  const base = app.config.publicUrl;
  const transcoding = app.ingestion ? new TranscodingGuard(app.ingestion.orthanc) : null;

  /** One lookup serves the audit row and the metadata cache; a study not ingested yet is looked up again next time. */
  async function studyRef(studyUid: string): Promise<{ patientId: string; orthancId: string | null }> {
    const known = studies.get(studyUid);
    if (known) return known;
    const row = await app.db.models.Study.findOne({
      where: { studyInstanceUid: studyUid },
      attributes: ['patientId', 'orthancId'],
      raw: true,
    });
    if (!row) return { patientId: '', orthancId: null };
    const ref = { patientId: row.patientId, orthancId: row.orthancId };
    if (studies.size > 50_000) studies.clear();
    studies.set(studyUid, ref);
    return ref;
  }

  /**
   * Restricted patients: 403 RESTRICTED_STUDY unless this user is assigned to the study or holds an
   * open emergency access window (whose id is returned for the audit row). Decided on every request.
   */
  async function checkRestriction(request: FastifyRequest, studyUid: string): Promise<string | null> {
    const row = await app.db.models.Study.findOne({
      where: { studyInstanceUid: studyUid },
      attributes: ['id', 'patientRef', 'restricted', 'assigneeId', 'patientId'],
      raw: true,
    });
    if (!row) return null;
    request.auditSubject = { objectType: 'Study', studyUid, patientId: row.patientId || undefined, details: { via: 'dicom-web' } };
    return (await app.restrictedAccess.policy.assertStudy(request, row)).windowId;
  }

  /** A search answer without the studies this user may not see (restricted, no access); null when it is not DICOM JSON. */
  async function withoutRestricted(request: FastifyRequest, body: Buffer): Promise<Buffer | null> {
    let items: unknown;
    try {
      items = JSON.parse(body.toString('utf8'));
    } catch {
      return null;
    }
    if (!Array.isArray(items)) return null;
    const uidOf = (item: unknown) => {
      const value = (item as Record<string, { Value?: unknown[] } | undefined> | null)?.['0020000D']?.Value?.[0];
      return typeof value === 'string' ? value : '';
    };
    const uids = [...new Set(items.map(uidOf).filter((uid) => uid !== ''))];
    if (uids.length === 0) return body;
    const rows = await app.db.models.Study.findAll({
      where: { studyInstanceUid: uids },
      attributes: ['id', 'studyInstanceUid', 'patientRef', 'restricted', 'assigneeId'],
      raw: true,
    });
    const decisions = await app.restrictedAccess.policy.decide(request.principal!.userId, rows);
    const masked = new Set(rows.filter((r) => decisions.get(r.id)?.access === 'masked').map((r) => r.studyInstanceUid));
    for (const row of rows) {
      const decision = decisions.get(row.id);
      if (decision?.access === 'open') noteWindow(request, decision.windowId);
    }
    if (masked.size === 0) return body;
    return Buffer.from(JSON.stringify(items.filter((item) => !masked.has(uidOf(item)))));
  }

  async function auditStudyAccess(request: FastifyRequest, studyUid: string, windowId: string | null): Promise<void> {
    const principal = request.principal!;
    // A new emergency access window is a new access: audited again, with the window's id.
    const key = `${request.sessionId ?? principal.userId}:${studyUid}:${windowId ?? ''}`;
    if (!audited.firstTime(key)) {
      request.auditRecorded = true;
      return;
    }
    const { patientId } = await studyRef(studyUid);
    request.auditSubject = { objectType: 'Study', studyUid, patientId: patientId || undefined, details: { via: 'dicom-web' } };
    try {
      await app.audit.record({
        eventId: 'DICOMInstancesAccessed',
        action: 'R',
        outcome: 0,
        userId: principal.userId,
        userRole: principal.role,
        networkAddress: request.ip,
        requestId: request.id,
        objectType: 'Study',
        studyUid,
        patientId: patientId || undefined,
        details: { via: 'dicom-web', session: request.sessionId ?? null, ...(windowId ? { emergencyAccess: [windowId] } : {}) },
      });
      request.auditRecorded = true;
    } catch (error) {
      audited.forget(key);
      throw error;
    }
  }

  /** The request below /dicom-web, recognised and rebuilt, or a 4xx naming what is wrong. */
  function parse(request: FastifyRequest): ParsedRequest {
    try {
      return parseDicomwebRequest(request.url.slice('/dicom-web'.length));
    } catch (error) {
      if (error instanceof DicomwebRequestError) {
        request.failureReason = error.code;
        throw new HttpError(error.statusCode, error.message, error.code);
      }
      throw error;
    }
  }

  /** GET to Orthanc (HEAD too: Orthanc's DICOMweb answers only GET; the body is then dropped). */
  async function forward(request: FastifyRequest, upstreamPath: string): Promise<Response> {
    const headers: Record<string, string> = {
      // Orthanc writes absolute BulkDataURIs from the RFC 7239 Forwarded header: the configured
      // public origin, never a client's Host or X-Forwarded-Host.
      forwarded: `host=${base.host};proto=${base.proto}`,
      // fetch() would gunzip Orthanc's answer but keep its compressed Content-Length, which a
      // browser refuses (ERR_CONTENT_LENGTH_MISMATCH). Loopback needs no compression.
      'accept-encoding': 'identity',
    };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    try {
      return await app.ingestion!.orthanc.fetch(`/dicom-web${upstreamPath}`, { method: 'GET', headers }, 60_000);
    } catch (error) {
      if (error instanceof OrthancUnavailable) throw new HttpError(502, 'image archive unreachable', 'ORTHANC_UNREACHABLE');
      throw error;
    }
  }

  /** One instance's DICOM JSON from Orthanc, to say why it refused frames (null when unreadable). */
  async function instanceMetadata(study: string, series: string, instance: string): Promise<unknown> {
    const response = await app.ingestion!.orthanc.fetch(
      `/dicom-web/studies/${study}/series/${series}/instances/${instance}/metadata`,
      { method: 'GET', headers: { accept: 'application/dicom+json', 'accept-encoding': 'identity' } },
      10_000,
    );
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      return null;
    }
    return JSON.parse((await readBounded(response)).toString('utf8'));
  }

  function copyHeaders(reply: FastifyReply, upstream: Response, withLength: boolean): void {
    reply.code(upstream.status);
    const recoded = upstream.headers.has('content-encoding');
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = upstream.headers.get(name);
      if (value && !(name === 'content-length' && (recoded || !withLength))) reply.header(name, value);
    }
    // Patient data: private to this user's browser, revalidated by ETag.
    reply.header('cache-control', 'private, no-cache');
  }

  /** A search across studies: the answer is read, audited with what it names, then sent. */
  async function search(request: FastifyRequest, reply: FastifyReply, parsed: ParsedRequest) {
    const upstream = await forward(request, parsed.upstreamPath);
    let body: Buffer;
    try {
      body = await readBounded(upstream);
    } catch (error) {
      if (error instanceof SearchAnswerTooLarge) {
        throw new HttpError(422, 'search answer too large: narrow the criteria or pass limit', 'DICOMWEB_SEARCH_TOO_LARGE');
      }
      throw error;
    }
    if (upstream.ok && body.length > 0) {
      const shown = await withoutRestricted(request, body);
      // Only DICOM JSON answers can be filtered; anything else might name a restricted patient.
      if (!shown)
        throw new HttpError(406, 'searches are answered as DICOM JSON only (Accept: application/dicom+json)', 'DICOMWEB_JSON_ONLY');
      body = shown;
    }
    const level = parsed.route.type === 'search' ? parsed.route.level : 'studies';
    const details = searchDetails(level, parsed.query, resultsOf(body, upstream.headers.get('content-type')), upstream.status);
    if (request.emergencyAccess?.length) details.emergencyAccess = request.emergencyAccess;
    request.auditSubject = { objectType: 'DICOMweb', details };
    // No audit row, no results.
    await app.audit.record({
      eventId: 'Query',
      action: 'R',
      outcome: outcomeForStatus(upstream.status),
      userId: request.principal!.userId,
      userRole: request.principal!.role,
      networkAddress: request.ip,
      requestId: request.id,
      objectType: 'DICOMweb',
      details,
    });
    request.auditRecorded = true;
    if (upstream.status >= 400) throw await upstreamRefusal(parsed.route, upstream.status, body, instanceMetadata);
    copyHeaders(reply, upstream, false);
    reply.header('content-length', body.length);
    return reply.send(request.method === 'HEAD' ? undefined : body);
  }

  // HEAD: Orthanc's DICOMweb answers it 404, so it is asked as GET and answered without the body.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/dicom-web/*',
    config: { access: 'images:read' },
    schema: {
      tags: ['dicomweb'],
      summary: "Orthanc's DICOMweb (QIDO-RS, WADO-RS), authenticated and audited",
      description:
        'QIDO-RS: /studies, /series, /instances, /studies/{study}/series, /studies/{study}/instances, ' +
        '/studies/{study}/series/{series}/instances. WADO-RS: /studies/{study}[/series/{series}[/instances/{instance}]] ' +
        'with nothing (DICOM), /metadata or /rendered; /studies/{study}/series/{series}/instances/{instance}/frames/{list}[/rendered] ' +
        'and /bulk/{tag path}. UIDs are digits and dots (≤ 64 characters); anything else is refused (400/404) and never forwarded. ' +
        'HEAD answers with the GET status and headers, without the body.',
      hide: false,
    },
    handler: async (request, reply) => {
      if (!app.ingestion) throw new HttpError(503, 'Orthanc is not configured', 'ORTHANC_NOT_CONFIGURED');
      const parsed = parse(request);
      const { route } = parsed;
      if (!route.study) return search(request, reply, parsed);
      // Restricted and not opened to this user: refused before anything is asked of Orthanc.
      const windowId = await checkRestriction(request, route.study);
      // No audit row, no pixels: the study audited is the one forwarded.
      await auditStudyAccess(request, route.study, windowId);

      const metadataOf = route.type === 'retrieve' && route.kind === 'metadata' && !route.series ? route.study : undefined;
      if (metadataCache && metadataOf && !request.headers.range && wantsJson(request.headers.accept)) {
        const { orthancId } = await studyRef(metadataOf);
        // Orthanc unreachable or the study not cacheable now: the plain proxy below answers (or says 502).
        const cached = orthancId ? await metadataCache.get(metadataOf, orthancId).catch(() => null) : null;
        if (cached) return sendCached(request, reply, cached);
      }

      try {
        await transcoding?.check(route, request.headers.accept);
      } catch (error) {
        if (error instanceof TranscodingRefused) throw new HttpError(406, error.message, 'DICOMWEB_TRANSCODING_UNAVAILABLE');
        if (error instanceof OrthancUnavailable) throw new HttpError(502, 'image archive unreachable', 'ORTHANC_UNREACHABLE');
        throw error;
      }
      const upstream = await forward(request, parsed.upstreamPath);
      if (upstream.status >= 400) throw await upstreamRefusal(route, upstream.status, await readErrorBody(upstream), instanceMetadata);
      copyHeaders(reply, upstream, true);
      if (!upstream.body || request.method === 'HEAD') {
        await upstream.body?.cancel().catch(() => {});
        return reply.send();
      }
      return reply.send(Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream));
    },
  });
}
