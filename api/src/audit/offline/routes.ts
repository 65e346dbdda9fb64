/**
 * Offline reads over HTTP: a device uploads its record of what its user viewed offline, and an
 * admin acknowledges a device whose record failed the chain check. The upload is refused unless
 * the device is the caller's own (registered, not revoked, the one this session signed in from);
 * refusals are audited by the audit-trail hook (403: Security Alert).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, IdParams, missingSubjectOf, OfflineReadsAnswer, OfflineReadsUpload } from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { badRequest, conflict, forbidden, notFound } from '../../http-errors';
import { auditInTransaction } from '../recorder';
import { OfflineReadLedger } from './offline-reads';

export default async function offlineAuditRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const ledger = new OfflineReadLedger(app.db.models, app.audit, app.config.offlineAudit);

  /** One answer for an unknown id, someone else's, a revoked one or another than the session's: nothing tells which. */
  const assertOwnDevice = async (request: FastifyRequest, deviceId: string) => {
    const device = await app.devices.find(deviceId);
    const session = request.sessionId ? await app.refreshTokens.session(request.sessionId) : null;
    const sessionDevice = session?.deviceId ?? null;
    let rejected: string | null = null;
    if (!device || device.userId !== request.principal!.userId) rejected = 'not a device of this user';
    else if (device.revokedAt) rejected = 'revoked device';
    else if (sessionDevice && sessionDevice !== deviceId) rejected = 'not the device of this session';
    if (rejected) {
      request.auditSubject.details = { ...request.auditSubject.details, rejected };
      throw forbidden('this device is not your registered device', 'OFFLINE_AUDIT_DEVICE_REFUSED');
    }
  };

  app.post(
    '/api/audit/offline-reads',
    {
      config: { access: 'audit:offline-reads' },
      schema: {
        tags: ['audit'],
        summary: "Upload this device's record of patient data viewed offline (hash-chained; replays are answered as accepted)",
        body: OfflineReadsUpload,
        response: { 200: OfflineReadsAnswer, 400: ErrorResponse, 403: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const { deviceId, entries } = request.body;
      request.auditSubject = {
        objectType: 'Device',
        objectId: deviceId,
        details: { event: 'offline-reads-upload', entries: entries.length, firstSeq: entries[0]!.seq },
      };
      await assertOwnDevice(request, deviceId);
      for (const entry of entries) {
        const missing = missingSubjectOf(entry);
        if (missing) throw badRequest(`entry ${entry.seq} (${entry.event}) lacks ${missing}`, 'OFFLINE_AUDIT_BAD_ENTRY');
        const at = new Date(entry.at);
        // The pattern admits 2026-02-30; a real date reads back as the same day.
        if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 19) !== entry.at.slice(0, 19)) {
          throw badRequest(`entry ${entry.seq} has no real date and time`, 'OFFLINE_AUDIT_BAD_ENTRY');
        }
      }
      const principal = request.principal!;
      const outcome = await ledger.upload(
        deviceId,
        { userId: principal.userId, role: principal.role, networkAddress: request.ip, requestId: request.id },
        entries,
      );
      switch (outcome.kind) {
        case 'accepted':
          // The entries' own rows are the audit of this upload; a pure replay adds none.
          request.auditRecorded = true;
          return { accepted: outcome.accepted, replayed: outcome.replayed, head: outcome.head };
        case 'broken':
          request.auditRecorded = true;
          throw conflict(`offline read record broken: ${outcome.reason}; an admin must acknowledge it`, 'AUDIT_CHAIN_BROKEN');
        case 'awaiting-acknowledgement':
          throw conflict(
            `offline read record of this device broken since ${outcome.since.toISOString()}; waiting for an admin`,
            'AUDIT_CHAIN_BROKEN',
          );
        case 'stale':
          throw conflict(
            `every entry precedes the last one accepted (${outcome.head.seq}); upload from ${outcome.head.seq + 1}`,
            'AUDIT_CHAIN_STALE',
          );
        case 'bad-time':
          throw badRequest(outcome.reason, 'OFFLINE_AUDIT_TIME_REFUSED');
      }
    },
  );

  app.post(
    '/api/admin/offline-audit/:id/acknowledge',
    {
      config: { access: 'audit:acknowledge', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'Device' } },
      schema: {
        tags: ['audit'],
        summary: "Acknowledge a device's broken offline read record: its next upload starts the record again from where it is",
        params: IdParams,
        response: { 204: Type.Null(), 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditSubject = { objectId: id, details: { event: 'offline-audit-alarm-acknowledged' } };
      const outcome = await app.db.sequelize.transaction(async (transaction) => {
        const cleared = await ledger.acknowledge(id, transaction);
        if (!cleared) return null;
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'Device',
          objectId: id,
          details: {
            event: 'offline-audit-alarm-acknowledged',
            deviceUserId: cleared.userId,
            brokenAt: new Date(cleared.brokenAt!).toISOString(),
            breakReason: cleared.brokenReason,
            acceptedUpTo: cleared.lastSeq,
          },
        });
        return cleared;
      });
      if (!outcome) {
        if (!(await app.db.models.OfflineAuditChain.count({ where: { deviceId: id } })))
          throw notFound('no offline read record of this device');
        throw conflict('this device has no open offline audit alarm', 'NO_CHAIN_ALARM');
      }
      return reply.code(204).send(null);
    },
  );
}
