/**
 * One audit row per request that reads patient data, changes anything, or is refused (401, 403,
 * bad input, rate limit). Mutations write their row inside their own transaction
 * (`auditInTransaction`, audit/recorder.ts); this hook writes the rest before the response leaves,
 * and a read of patient data whose row cannot be written is answered 503 instead of with the data.
 * Repeated anonymous refusals are folded into one row per window with a count
 * (audit/refusal-folder.ts).
 */
import fp from 'fastify-plugin';
import { auditEntryFor } from '../audit/recorder';
import { RefusalFolder } from '../audit/refusal-folder';

const AUDITED_FAILURES = new Set([400, 401, 403, 409, 413, 415, 422, 423, 429]);

export default fp(
  async (app) => {
    const refusals = new RefusalFolder(app.audit, app.config.auditFoldSeconds * 1000, app.log);
    app.addHook('onClose', async () => refusals.flush());
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.auditRecorded) return payload;
      const spec = request.routeOptions.config.audit;
      const status = reply.statusCode;
      const declared = request.routeOptions.config.access !== undefined;
      if (!spec && !(declared && AUDITED_FAILURES.has(status))) return payload;
      try {
        const entry = auditEntryFor(request, status, spec);
        // Anyone can send anonymous requests by the thousand: their refusals are folded per window.
        if (!request.principal && status >= 400) await refusals.record(entry);
        else await app.audit.record(entry);
        request.auditRecorded = true;
        return payload;
      } catch (error) {
        request.log.error({ err: error }, 'audit write failed');
        if (spec?.phi && status < 400) {
          reply.code(503).type('application/json; charset=utf-8');
          return JSON.stringify({
            statusCode: 503,
            error: 'Service Unavailable',
            message: 'audit trail unavailable; data withheld',
            requestId: request.id,
          });
        }
        return payload;
      }
    });
  },
  { name: 'audit-trail', dependencies: ['database', 'access-control'] },
);
