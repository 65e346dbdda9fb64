/**
 * Is this report, or this PDF, authentic? For medico-legal review: a signed report and its addenda
 * checked now (hash and installation signature, the alarm raised on a mismatch), and a PDF someone
 * holds checked against its seal (signature/pdf-seal.ts) without the system having to keep copies.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, IdParams, isReportLocked, PdfVerification, ReportVerification } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import type { ReportAttributes } from '../db/models';
import { badRequest, conflict } from '../http-errors';
import { guardStudyRoutes } from '../restricted-access/policy';
import { checkIntegrity, reportAudit, setReportSubject } from './report-audit';
import { createReportStore } from './report-store';
import { verifyPdfSeal } from './signature/pdf-seal';

/** A report PDF is a few hundred kilobytes; one with many addenda and key images a few megabytes. */
const MAX_PDF_BYTES = 20 * 2 ** 20;

export default async function reportVerificationRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const store = createReportStore(app.db);
  const tags = ['reports'];
  guardStudyRoutes(app);
  app.addContentTypeParser('application/pdf', { parseAs: 'buffer', bodyLimit: MAX_PDF_BYTES }, (_request, body, done) => done(null, body));

  app.get(
    '/api/reports/:id/verification',
    {
      config: { access: 'report:read', audit: reportAudit('R', true) },
      schema: {
        tags,
        summary: 'Checks a signed report and its signed addenda now: content hash and the installation signature',
        params: IdParams,
        response: { 200: ReportVerification, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      let row = (await store.loadReport(request.params.id)).get();
      if (row.parentReportId) row = (await store.loadReport(row.parentReportId)).get();
      const study = (await store.loadStudy(row.studyRef)).get();
      setReportSubject(request, row, study);
      if (!isReportLocked(row.status)) throw conflict('the report is not signed yet: there is nothing to verify', 'NOT_SIGNED');
      const signedAddenda = (await store.addendaOf(row.id)).filter((a) => isReportLocked(a.status));
      const parts = [];
      for (const [kind, r] of [['report', row] as const, ...signedAddenda.map((a) => ['addendum', a] as const)]) {
        parts.push(await partOf(kind, r, await checkIntegrity(request, r, study)));
      }
      const verified = parts.every((p) => p.integrity.verified === true);
      request.auditSubject.details = { verified, parts: parts.length };
      return { reportId: row.id, verified, parts };
    },
  );

  const partOf = async (kind: 'report' | 'addendum', r: ReportAttributes, integrity: Awaited<ReturnType<typeof checkIntegrity>>) => ({
    reportId: r.id,
    kind,
    signedBy: r.finalSignerName ?? '',
    signedAt: new Date(r.finalSignedAt ?? 0).toISOString(),
    contentHash: r.contentHash ?? '',
    integrity,
  });

  app.post(
    '/api/reports/pdf-verification',
    {
      config: { access: 'report:verify', audit: { eventId: 'PatientRecord', action: 'E', objectType: 'Report' } },
      schema: {
        tags,
        summary: 'Whether a report PDF (the request body, application/pdf) is exactly one this installation sealed',
        response: { 200: PdfVerification, 400: ErrorResponse, 413: ErrorResponse, 415: ErrorResponse },
      },
    },
    async (request) => {
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw badRequest('send the PDF as the request body (application/pdf)', 'BAD_PDF');
      const verdict = verifyPdfSeal(body, app.reportKeys);
      if (verdict.authentic) {
        const report = await app.db.models.Report.findByPk(verdict.reportId, { attributes: ['id', 'studyRef'], raw: true });
        const study = report ? await app.db.models.Study.findByPk(report.studyRef, { raw: true, paranoid: false }) : null;
        if (report && study) setReportSubject(request, report, study);
        else request.auditSubject = { objectType: 'Report', objectId: verdict.reportId };
      }
      request.auditSubject.details = {
        authentic: verdict.authentic,
        bytes: body.length,
        ...(verdict.authentic ? {} : { reason: verdict.reason }),
      };
      return verdict;
    },
  );
}
