/**
 * A referring physician's own results: the signed reports of the studies they ordered (linked by
 * their provider id to the orders' ORC-12.1), newest first. Nothing else of the worklist.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, ReferrerReportPage, ReferrerReportQuery } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { Op } from 'sequelize';
import { checkIntegrity } from '../reports/report-audit';

const iso = (value: Date | null) => (value ? new Date(value).toISOString() : null);

export default async function referrerRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models } = app.db;

  app.get(
    '/api/referrer/reports',
    {
      config: { access: 'result:read-own', audit: { eventId: 'Query', action: 'R', objectType: 'Report', phi: true } },
      schema: {
        tags: ['referrer'],
        summary: 'The signed reports of the studies the signed-in referrer ordered, newest first',
        querystring: ReferrerReportQuery,
        response: { 200: ReferrerReportPage, 400: ErrorResponse },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 25;
      const { providerId } = request.principal!;
      if (providerId === '') {
        request.auditSubject = { details: { returned: 0, reason: 'no provider id' } };
        return { items: [], nextBefore: null };
      }
      const orders = await models.Order.findAll({
        where: { orderingPhysicianId: providerId, studyRef: { [Op.ne]: null } },
        attributes: ['studyRef'],
        raw: true,
      });
      const studyIds = orders.map((order) => order.studyRef!);
      const reports = studyIds.length
        ? await models.Report.findAll({
            where: {
              primarySlot: { [Op.in]: studyIds },
              status: { [Op.in]: ['final', 'addended'] },
              ...(request.query.before ? { finalSignedAt: { [Op.lt]: new Date(request.query.before) } } : {}),
            },
            order: [['finalSignedAt', 'DESC']],
            limit: limit + 1,
            raw: true,
          })
        : [];
      const shown = reports.slice(0, limit);
      const studies = new Map(
        (await models.Study.findAll({ where: { id: { [Op.in]: shown.map((r) => r.studyRef) } }, raw: true, paranoid: false })).map((s) => [
          s.id,
          s,
        ]),
      );
      const addenda = shown.length
        ? await models.Report.findAll({
            where: { parentReportId: { [Op.in]: shown.map((r) => r.id) }, status: 'final' },
            order: [['finalSignedAt', 'ASC']],
            raw: true,
          })
        : [];
      request.auditSubject = {
        details: { returned: shown.length, patients: [...new Set(shown.map((r) => studies.get(r.studyRef)?.patientId))] },
      };
      // Every signed part is checked as it is read; a failure raises the alarm and is shown.
      const failed = new Set<string>();
      for (const r of [...shown, ...addenda]) {
        const study = studies.get(r.studyRef);
        if (study && (await checkIntegrity(request, r, study)).verified === false) failed.add(r.parentReportId ?? r.id);
      }
      return {
        items: shown.map((report) => {
          const study = studies.get(report.studyRef);
          return {
            reportId: report.id,
            studyId: report.studyRef,
            accessionNumber: study?.accessionNumber ?? '',
            patientName: study?.patientName ?? '',
            patientId: study?.patientId ?? '',
            studyDescription: study?.description ?? '',
            studyDate: study?.studyDate ?? null,
            signedAt: iso(report.finalSignedAt),
            signerName: report.finalSignerName ?? '',
            text: report.contentText ?? '',
            addenda: addenda
              .filter((a) => a.parentReportId === report.id)
              .map((a) => ({ signedAt: iso(a.finalSignedAt), signerName: a.finalSignerName ?? '', text: a.contentText ?? '' })),
            verified: !failed.has(report.id),
          };
        }),
        nextBefore: reports.length > limit ? iso(shown.at(-1)!.finalSignedAt) : null,
      };
    },
  );
}
