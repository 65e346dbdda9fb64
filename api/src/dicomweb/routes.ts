/**
 * /dicom-web/* → Orthanc's DICOMweb (QIDO-RS, WADO-RS metadata, frames, rendered, bulk data),
 * streamed, with Orthanc's credentials added here so none ever reaches a browser. Each study is
 * audited once per user session, not once per frame. Study metadata is answered from a cache
 * (metadata-cache.ts) when Orthanc says the study has not changed.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../http-errors';
import { OrthancUnavailable } from '../ingest/orthanc-client';
import { type CachedMetadata, StudyMetadataCache } from './metadata-cache';

/** Request headers a DICOMweb client needs passed on (transfer syntax in Accept, ranges, validators). */
const FORWARDED_REQUEST_HEADERS = ['accept', 'range', 'if-none-match', 'if-modified-since', 'if-range'];
/** Response headers passed back (multipart boundary lives in content-type). */
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'etag', 'last-modified'];
const STUDY_PATH = /^\/studies\/([0-9.]{1,64})(?:\/|$)/;
const STUDY_METADATA_PATH = /^\/studies\/([0-9.]{1,64})\/metadata$/;
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

  async function auditStudyAccess(request: FastifyRequest, studyUid: string): Promise<void> {
    const principal = request.principal!;
    const key = `${request.sessionId ?? principal.userId}:${studyUid}`;
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
        details: { via: 'dicom-web', session: request.sessionId ?? null },
      });
      request.auditRecorded = true;
    } catch (error) {
      audited.forget(key);
      throw error;
    }
  }

  app.route({
    method: ['GET', 'HEAD'],
    url: '/dicom-web/*',
    config: { access: 'images:read' },
    schema: { tags: ['dicomweb'], summary: "Orthanc's DICOMweb, authenticated and audited", hide: false },
    handler: async (request, reply) => {
      const ingestion = app.ingestion;
      if (!ingestion) throw new HttpError(503, 'Orthanc is not configured', 'ORTHANC_NOT_CONFIGURED');
      const rest = request.url.slice('/dicom-web'.length);
      const path = rest.split('?')[0] ?? '';
      const studyUid = STUDY_PATH.exec(path)?.[1];
      if (studyUid) {
        // No audit row, no pixels.
        await auditStudyAccess(request, studyUid);
      } else {
        request.auditSubject = { objectType: 'Query', details: { via: 'dicom-web', path } };
        await app.audit.record({
          eventId: 'Query',
          action: 'R',
          outcome: 0,
          userId: request.principal!.userId,
          userRole: request.principal!.role,
          networkAddress: request.ip,
          requestId: request.id,
          objectType: 'DICOMweb',
          details: { path },
        });
        request.auditRecorded = true;
      }

      // Orthanc writes absolute BulkDataURIs from the RFC 7239 Forwarded header: make them point
      // at this origin's /dicom-web, never at Orthanc's internal address. Orthanc does not unquote
      // values, so the host goes unquoted and is restricted to host characters.
      const host = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(request.host) ? request.host : 'localhost';
      const proto = request.protocol === 'https' ? 'https' : 'http';

      metadataCache?.noteBase({ host, proto });
      const metadataOf = request.method === 'GET' && !request.headers.range ? STUDY_METADATA_PATH.exec(rest)?.[1] : undefined;
      if (metadataCache && metadataOf && wantsJson(request.headers.accept)) {
        const { orthancId } = await studyRef(metadataOf);
        // Orthanc unreachable or the study not cacheable now: the plain proxy below answers (or says 502).
        const cached = orthancId ? await metadataCache.get(metadataOf, orthancId, { host, proto }).catch(() => null) : null;
        if (cached) return sendCached(request, reply, cached);
      }

      const headers: Record<string, string> = {
        forwarded: `host=${host};proto=${proto}`,
        // fetch() would gunzip Orthanc's answer but keep its compressed Content-Length, which a
        // browser refuses (ERR_CONTENT_LENGTH_MISMATCH). Loopback needs no compression.
        'accept-encoding': 'identity',
      };
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      let upstream: Response;
      try {
        upstream = await ingestion.orthanc.fetch(`/dicom-web${rest}`, { method: request.method, headers }, 60_000);
      } catch (error) {
        if (error instanceof OrthancUnavailable) throw new HttpError(502, 'image archive unreachable', 'ORTHANC_UNREACHABLE');
        throw error;
      }
      reply.code(upstream.status);
      const recoded = upstream.headers.has('content-encoding');
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const value = upstream.headers.get(name);
        if (value && !(recoded && name === 'content-length')) reply.header(name, value);
      }
      // Patient data: private to this user's browser, revalidated by ETag.
      reply.header('cache-control', 'private, no-cache');
      if (!upstream.body || request.method === 'HEAD') return reply.send();
      return reply.send(Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream));
    },
  });
}
