/**
 * The teaching file over HTTP: attendings (and program directors, who are attendings here) list the
 * residents and read any resident's signed reports with the size of the attending's changes;
 * residents read their own. Audited as queries of patient data.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, TeachingReportPage, TeachingReportsQuery, TeachingResidentList } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { forbidden, notFound } from '../http-errors';
import { residentsWithReports, teachingReports } from './teaching-file';

export default async function teachingRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models } = app.db;
  const tags = ['teaching'];

  app.get(
    '/api/teaching/residents',
    {
      config: { access: 'teaching:read', audit: { eventId: 'Query', action: 'R', objectType: 'User' } },
      schema: { tags, summary: 'The residents and how many signed reports each wrote', response: { 200: TeachingResidentList } },
    },
    async (request) => {
      const principal = request.principal!;
      const residents = await residentsWithReports(models);
      // A resident sees only themselves: the list is the attendings' way in.
      return { residents: principal.role === 'resident' ? residents.filter((r) => r.id === principal.userId) : residents };
    },
  );

  app.get(
    '/api/teaching/reports',
    {
      config: { access: 'teaching:read', audit: { eventId: 'Query', action: 'R', objectType: 'Report', phi: true } },
      schema: {
        tags,
        summary: "A resident's signed reports, newest first, with the attending's changes to each",
        querystring: TeachingReportsQuery,
        response: { 200: TeachingReportPage, 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const principal = request.principal!;
      const residentId = request.query.residentId ?? principal.userId;
      if (principal.role === 'resident' && residentId !== principal.userId)
        throw forbidden("residents read their own teaching file, not another's", 'NOT_YOUR_TEACHING_FILE');
      const resident = await models.User.findByPk(residentId, { attributes: ['id', 'role'], raw: true });
      if (resident?.role !== 'resident') throw notFound('no such resident');
      const page = await teachingReports(models, app.restrictedAccess.policy, principal.userId, {
        residentId,
        limit: request.query.limit ?? 25,
        before: request.query.before,
      });
      request.auditSubject = { details: { residentId, returned: page.items.length, patients: [...new Set(page.patientIds)] } };
      return { residentId, items: page.items, nextBefore: page.nextBefore };
    },
  );
}
