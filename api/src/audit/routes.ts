/** The audit trail, for admins: filtered, newest first, keyset-paged. Reading it is audited too. */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AuditPage, AuditQuery } from '@pacs/shared';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AuditTrailPages } from './trail-page';

export default async function auditRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const pages = new AuditTrailPages(app.db.sequelize);

  app.get(
    '/api/audit',
    {
      config: { access: 'audit:read', audit: { eventId: 'Query', action: 'R', objectType: 'AuditLog', phi: true } },
      schema: { tags: ['audit'], summary: 'Search the audit trail', querystring: AuditQuery, response: { 200: AuditPage } },
    },
    async (request, reply) => {
      const query = request.query;
      const limit = query.limit ?? 50;
      const filters = Object.fromEntries(Object.entries(query).filter(([k]) => k !== 'cursor' && k !== 'limit'));
      request.auditSubject = { patientId: query.patientId, studyUid: query.studyUid, details: { filters } };
      // Already JSON in the AuditPage shape (trail-page.ts): a JSON string is sent as it is, not
      // serialised again; the schema still documents it, and a test checks the page against it.
      const page = await pages.page(query, limit);
      return (reply as FastifyReply).type('application/json; charset=utf-8').send(page);
    },
  );
}
