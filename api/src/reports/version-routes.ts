/**
 * A report's history over HTTP: its versions (submit, return, final), one version's content, what
 * changed between two versions word by word (by default the resident's preliminary against the
 * latest), for the resident to learn from and for QA, and who wrote each character of the current
 * text. Reading any of it reads the report.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ErrorResponse,
  IdParams,
  ReportAuthorship,
  ReportChanges,
  ReportChangesQuery,
  ReportVersionList,
  ReportVersionParams,
  ReportVersionView,
  reportDocumentName,
} from '@pacs/shared';
import { fromBase64, reportAuthorship } from '@pacs/shared/report-document';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as Y from 'yjs';
import { notFound } from '../http-errors';
import { guardStudyRoutes } from '../restricted-access/policy';
import { reportAudit, setReportSubject } from './report-audit';
import { createReportStore } from './report-store';
import { SyncClient, syncFailure } from './sync-client';
import { createVersionStore, presentVersion } from './versions';

export default async function reportVersionRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const store = createReportStore(app.db);
  const versions = createVersionStore(app.db.models);
  const { syncUrl, syncServiceToken, syncTimeoutMs } = app.config;
  const sync = new SyncClient(syncUrl, syncServiceToken, syncTimeoutMs);
  const tags = ['reports'];
  guardStudyRoutes(app);

  /** The report exists and the request's audit row is about it. */
  async function subject(request: FastifyRequest, reportId: string) {
    const row = (await store.loadReport(reportId)).get();
    setReportSubject(request, row, (await store.loadStudy(row.studyRef)).get());
  }

  app.get(
    '/api/reports/:id/versions',
    {
      config: { access: 'report:read', audit: reportAudit('R', true) },
      schema: {
        tags,
        summary: "The report's versions, oldest first: stored at each submit, return and final signature",
        params: IdParams,
        response: { 200: ReportVersionList, 404: ErrorResponse },
      },
    },
    async (request) => {
      await subject(request, request.params.id);
      const list = await versions.list(request.params.id);
      request.auditSubject.details = { versions: list.length };
      return { reportId: request.params.id, versions: list.map(presentVersion) };
    },
  );

  app.get(
    '/api/reports/:id/versions/:sequence',
    {
      config: { access: 'report:read', audit: reportAudit('R', true) },
      schema: {
        tags,
        summary: 'One version of the report: its text and sections as they were then',
        params: ReportVersionParams,
        response: { 200: ReportVersionView, 404: ErrorResponse },
      },
    },
    async (request) => {
      await subject(request, request.params.id);
      const version = await versions.read(request.params.id, request.params.sequence);
      if (!version) throw notFound(`the report has no version ${request.params.sequence}`);
      request.auditSubject.details = { version: request.params.sequence };
      return { reportId: request.params.id, version: presentVersion(version.summary), content: version.content };
    },
  );

  app.get(
    '/api/reports/:id/changes',
    {
      config: { access: 'report:read', audit: reportAudit('R', true) },
      schema: {
        tags,
        summary: "What changed between two versions, per section, word by word (default: the resident's preliminary → the latest)",
        params: IdParams,
        querystring: ReportChangesQuery,
        response: { 200: ReportChanges, 404: ErrorResponse },
      },
    },
    async (request) => {
      await subject(request, request.params.id);
      const found = await versions.changes(request.params.id, request.query);
      if (!found) throw notFound('the report has no such versions yet');
      request.auditSubject.details = { from: found.from.summary.sequence, to: found.to.summary.sequence };
      return {
        reportId: request.params.id,
        from: presentVersion(found.from.summary),
        to: presentVersion(found.to.summary),
        ...found.diff,
      };
    },
  );

  app.get(
    '/api/reports/:id/authorship',
    {
      config: { access: 'report:read', audit: reportAudit('R', true) },
      schema: {
        tags,
        summary: 'Who wrote each part of the current text, and what each user deleted of whose text (as recorded by the document service)',
        params: IdParams,
        response: { 200: ReportAuthorship, 404: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request) => {
      await subject(request, request.params.id);
      let answer: Awaited<ReturnType<SyncClient['authorship']>>;
      try {
        answer = await sync.authorship(reportDocumentName(request.params.id));
      } catch (error) {
        throw syncFailure(error);
      }
      const doc = new Y.Doc();
      try {
        Y.applyUpdate(doc, fromBase64(answer.update));
        const ranges = answer.ranges.map((r) => ({ ...r, ranges: fromBase64(r.ranges) }));
        const authorship = reportAuthorship(request.params.id, doc, answer.clients, ranges);
        request.auditSubject.details = { authors: authorship.authors.length };
        return authorship;
      } finally {
        doc.destroy();
      }
    },
  );
}
