/** System status for the admin view: every readiness check, the ingestion cursor and last reconcile, the audit export, open alarms. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SystemStatus } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { offlineAuditAlarms } from '../audit/offline/alarms';
import { checkReadiness } from './routes';

export default async function systemRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/system/status',
    {
      config: { access: 'system:read' },
      schema: {
        tags: ['health'],
        summary: 'Health of every part and the ingestion state (admins)',
        response: { 200: SystemStatus },
      },
    },
    async () => ({
      health: await checkReadiness(app.readinessChecks),
      ingestion: app.ingestion ? await app.ingestion.reconciler.status() : null,
      auditExport: app.auditExport ? await app.auditExport.status() : null,
      alarms: await offlineAuditAlarms(app.db.models),
    }),
  );
}
