/** System status for the admin view: every readiness check plus the ingestion cursor and last reconcile. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { HealthResponse } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { checkReadiness } from './routes';

const ReconcileStatus = Type.Object({
  cursor: Type.Integer(),
  lastRunAt: Type.Union([Type.String(), Type.Null()]),
  lastSuccessAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  ingested: Type.Integer(),
  deleted: Type.Integer(),
});

export default async function systemRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/system/status',
    {
      config: { access: 'system:read' },
      schema: {
        tags: ['health'],
        summary: 'Health of every part and the ingestion state (admins)',
        response: { 200: Type.Object({ health: HealthResponse, ingestion: Type.Union([ReconcileStatus, Type.Null()]) }) },
      },
    },
    async () => ({
      health: await checkReadiness(app.readinessChecks),
      ingestion: app.ingestion ? await app.ingestion.reconciler.status() : null,
    }),
  );
}
