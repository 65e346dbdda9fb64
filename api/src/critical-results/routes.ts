/**
 * The critical-results loop over HTTP: a radiologist flags a report (the clock starts at the
 * server's receipt), the recipient acknowledges in the app or a radiologist records the call, and
 * everyone allowed lists them with their clocks. Each change commits with its audit row.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  CriticalAckRequest,
  CriticalFlagRequest,
  CriticalResult,
  CriticalResultList,
  CriticalResultQuery,
  CriticalWithdrawRequest,
  ErrorResponse,
  IdParams,
} from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Transaction } from 'sequelize';
import { auditInTransaction } from '../audit/recorder';
import { guardStudyRoutes } from '../restricted-access/policy';
import type { Actor } from './critical-results';

const actorOf = (request: FastifyRequest): Actor => {
  const { userId, role, name, providerId } = request.principal!;
  return { userId, role, name, providerId };
};

const auditChange =
  (request: FastifyRequest, id: string, event: string, details: Record<string, unknown> = {}) =>
  (transaction: Transaction, subject: { patientId: string; studyUid: string }) => {
    request.auditSubject = { objectType: 'CriticalResult', objectId: id, patientId: subject.patientId, studyUid: subject.studyUid };
    return auditInTransaction(request, transaction, {
      eventId: 'PatientRecord',
      action: 'U',
      objectType: 'CriticalResult',
      objectId: id,
      patientId: subject.patientId,
      studyUid: subject.studyUid,
      details: { event, ...details },
    });
  };

export default async function criticalResultRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['critical results'];
  // Flagging names a report: not on a restricted patient's without access.
  guardStudyRoutes(app);

  /**
   * A restricted patient is not named to a radiologist without access. The referrer who ordered
   * the study (the recipient) is told whom it concerns: that is what the result is for.
   */
  async function maskRestricted(request: FastifyRequest, items: CriticalResult[]): Promise<CriticalResult[]> {
    if (request.principal!.role === 'referrer' || items.length === 0) return items;
    const studies = await app.db.models.Study.findAll({
      where: { id: [...new Set(items.map((i) => i.studyId))] },
      attributes: ['id', 'patientRef', 'restricted', 'assigneeId'],
      paranoid: false,
      raw: true,
    });
    const masked = await app.restrictedAccess.policy.maskedStudies(request.principal!.userId, studies);
    return items.map((item) => (masked.has(item.studyId) ? { ...item, patientName: '', patientId: '' } : item));
  }
  const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

  app.post(
    '/api/reports/:id/critical-results',
    {
      config: { access: 'critical:flag', audit: { eventId: 'PatientRecord', action: 'C', objectType: 'CriticalResult' } },
      schema: {
        tags,
        summary: 'Flag a report as a critical result; the recipient is told at once and the clock starts now',
        description: 'Replaying the same clientId (an offline outbox) answers the result already recorded, with 200.',
        params: IdParams,
        body: CriticalFlagRequest,
        response: { 200: CriticalResult, 201: CriticalResult, ...errors },
      },
    },
    async (request, reply) => {
      const { category } = request.body;
      const flagged = await app.critical.results.flag(request.params.id, request.body, actorOf(request), (transaction, subject) => {
        request.auditSubject = {
          objectType: 'CriticalResult',
          objectId: subject.id,
          patientId: subject.patientId,
          studyUid: subject.studyUid,
        };
        return auditInTransaction(request, transaction, {
          eventId: 'PatientRecord',
          action: 'C',
          objectType: 'CriticalResult',
          objectId: subject.id,
          patientId: subject.patientId,
          studyUid: subject.studyUid,
          details: { event: 'critical-flagged', category, reportId: request.params.id },
        });
      });
      if (!flagged.created) {
        request.auditSubject = {
          objectType: 'CriticalResult',
          objectId: flagged.result.id,
          patientId: flagged.patientId,
          studyUid: flagged.studyUid,
          details: { replay: true },
        };
      }
      return reply.code(flagged.created ? 201 : 200).send(flagged.result);
    },
  );

  app.get(
    '/api/critical-results',
    {
      config: { access: 'critical:read', audit: { eventId: 'Query', action: 'R', objectType: 'CriticalResult', phi: true } },
      schema: {
        tags,
        summary: 'Critical results with their clocks: open ones most urgent first; a referrer sees their own orders’',
        querystring: CriticalResultQuery,
        response: { 200: CriticalResultList, 400: ErrorResponse },
      },
    },
    async (request) => {
      const items = await maskRestricted(request, await app.critical.results.list(actorOf(request), request.query));
      request.auditSubject = { details: { ...request.query, returned: items.length } };
      return { items };
    },
  );

  app.get(
    '/api/critical-results/:id',
    {
      config: { access: 'critical:read', audit: { eventId: 'PatientRecord', action: 'R', objectType: 'CriticalResult', phi: true } },
      schema: {
        tags,
        summary: 'One critical result with its communication record',
        params: IdParams,
        response: { 200: CriticalResult, ...errors },
      },
    },
    async (request) => {
      const { result, studyUid } = await app.critical.results.get(request.params.id, actorOf(request));
      request.auditSubject = { objectType: 'CriticalResult', objectId: result.id, patientId: result.patientId, studyUid };
      return (await maskRestricted(request, [result]))[0]!;
    },
  );

  app.post(
    '/api/critical-results/:id/acknowledge',
    {
      config: { access: 'critical:acknowledge', audit: { eventId: 'PatientRecord', action: 'U', objectType: 'CriticalResult' } },
      schema: {
        tags,
        summary: 'Acknowledge: the recipient in the app, or a radiologist recording who received it and how',
        params: IdParams,
        body: CriticalAckRequest,
        response: { 200: CriticalResult, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      return app.critical.results.acknowledge(
        id,
        request.body,
        actorOf(request),
        auditChange(request, id, 'critical-acknowledged', { channel: request.body.channel }),
      );
    },
  );

  app.post(
    '/api/critical-results/:id/withdraw',
    {
      config: { access: 'critical:flag', audit: { eventId: 'PatientRecord', action: 'U', objectType: 'CriticalResult' } },
      schema: {
        tags,
        summary: 'Withdraw a critical result raised in error (its record stays)',
        params: IdParams,
        body: CriticalWithdrawRequest,
        response: { 200: CriticalResult, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      return app.critical.results.withdraw(id, request.body.reason, actorOf(request), auditChange(request, id, 'critical-withdrawn'));
    },
  );
}
