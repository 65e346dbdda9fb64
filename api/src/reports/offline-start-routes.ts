/** Adopting a report a device started offline (offline-start.ts); deny by default, audited as a report creation. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, IdParams, ReportOfflineStart, Report as ReportSchema, ReportStartedElsewhere } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { guardStudyRoutes } from '../restricted-access/policy';
import { recentOpensOf } from '../worklist/recent-opens';
import { adoptOfflineStart } from './offline-start';
import { presentVerified } from './present';
import { recordReportChange, reportAudit, setReportSubject } from './report-audit';
import { createReportStore } from './report-store';
import { SyncClient } from './sync-client';

export default async function offlineStartRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const store = createReportStore(app.db);
  const config = app.config;
  const sync = new SyncClient(config.syncUrl, config.syncServiceToken, config.syncTimeoutMs);
  guardStudyRoutes(app);

  app.post(
    '/api/studies/:id/report/offline-start',
    {
      config: { access: 'report:edit', audit: reportAudit('C') },
      schema: {
        tags: ['reports'],
        summary: 'Adopt a report this device started offline, under its id (409 REPORT_EXISTS: merge into the one started meanwhile)',
        params: IdParams,
        body: ReportOfflineStart,
        response: {
          200: ReportSchema,
          201: ReportSchema,
          400: ErrorResponse,
          404: ErrorResponse,
          409: ReportStartedElsewhere,
          503: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const study = (await store.loadStudy(request.params.id)).get();
      request.auditSubject = { objectType: 'Report', patientId: study.patientId, studyUid: study.studyInstanceUid };
      const { id, templateId, seed } = request.body;
      const deps = {
        store,
        sync,
        models: app.db.models,
        audit: (transaction: Parameters<typeof recordReportChange>[1], details: Record<string, unknown>) =>
          recordReportChange(request, transaction, 'C', { id }, study, details),
      };
      const result = await adoptOfflineStart(deps, { study, id, templateId, seed, authorId: request.principal!.userId });
      if (result.outcome === 'refused') throw result.error;
      await recentOpensOf(app.db.models).record(request.principal!.userId, study.id);
      setReportSubject(request, result.report, study);
      if (result.outcome === 'created') reply.code(201);
      return presentVerified(request, store, result.report, study);
    },
  );
}
