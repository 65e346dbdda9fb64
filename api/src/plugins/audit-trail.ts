/**
 * One audit row per request that reads patient data, changes anything, or is refused (401, 403,
 * bad input, rate limit). Mutations write their row inside their own transaction
 * (`auditInTransaction`); this hook writes the rest before the response leaves, and a read of
 * patient data whose row cannot be written is answered 503 instead of with the data. Repeated
 * anonymous refusals are folded into one row per window with a count (audit/refusal-folder.ts).
 */
import { type AuditAction, outcomeForStatus } from '@pacs/shared';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Transaction } from 'sequelize';
import type { AuditEntryInput } from '../audit/recorder';
import { RefusalFolder } from '../audit/refusal-folder';
import type { RouteAudit } from '../fastify-types';

const AUDITED_FAILURES = new Set([400, 401, 403, 409, 413, 415, 422, 423, 429]);

const ACTION_BY_METHOD: Record<string, AuditAction> = { GET: 'R', HEAD: 'R', POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' };

export function auditEntryFor(request: FastifyRequest, statusCode: number, spec: RouteAudit | undefined): AuditEntryInput {
  const denied = statusCode === 401 || statusCode === 403;
  const subject = request.auditSubject ?? {};
  const details: Record<string, unknown> = { method: request.method, route: request.routeOptions.url, status: statusCode };
  if (request.failureReason) details.reason = request.failureReason;
  return {
    eventId: denied && !spec ? 'SecurityAlert' : (spec?.eventId ?? 'ApplicationActivity'),
    action: spec?.action ?? ACTION_BY_METHOD[request.method] ?? 'E',
    outcome: outcomeForStatus(statusCode),
    userId: request.principal?.userId ?? null,
    userRole: request.principal?.role ?? null,
    networkAddress: request.ip,
    requestId: request.id,
    objectType: subject.objectType ?? spec?.objectType,
    objectId: subject.objectId,
    patientId: subject.patientId,
    studyUid: subject.studyUid,
    details: { ...details, ...subject.details },
  };
}

/** For mutations: the audit row commits or rolls back with the change it describes. */
export async function auditInTransaction(
  request: FastifyRequest,
  transaction: Transaction,
  entry: Partial<AuditEntryInput> & Pick<AuditEntryInput, 'eventId' | 'action'>,
): Promise<void> {
  const base = auditEntryFor(request, 200, undefined);
  await request.server.audit.record({ ...base, ...entry, details: { ...base.details, ...entry.details } }, transaction);
  transaction.afterCommit(() => {
    request.auditRecorded = true;
  });
}

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
