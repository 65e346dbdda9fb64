/** The results outbox for admins: what waits, what was sent, what is dead; a dead message can be sent again. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, OutboxEntry, OutboxPage, OutboxQuery } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { OutboxAttributes } from '../db/order-models';
import { conflict, notFound } from '../http-errors';
import { patientIdOfKey } from './result-outbox';

const OutboxId = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

function present(row: OutboxAttributes): OutboxEntry {
  return {
    id: Number(row.id),
    destination: row.destination,
    messageType: row.messageType,
    controlId: row.controlId,
    status: row.status,
    attempts: row.attempts,
    lastError: row.lastError,
    ackCode: row.ackCode,
    reportId: row.reportId,
    patientId: patientIdOfKey(row.patientKey),
    createdAt: new Date(row.createdAt).toISOString(),
    nextAttemptAt: new Date(row.nextAttemptAt).toISOString(),
    sentAt: row.sentAt ? new Date(row.sentAt).toISOString() : null,
  };
}

export default async function resultRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { Outbox } = app.db.models;
  const tags = ['interfaces'];

  app.get(
    '/api/interfaces/outbox',
    {
      config: { access: 'interface:manage', audit: { eventId: 'Query', action: 'R', objectType: 'HL7Outbox', phi: true } },
      schema: { tags, summary: 'Results to send, sent and dead (newest first)', querystring: OutboxQuery, response: { 200: OutboxPage } },
    },
    async (request) => {
      const { status, limit = 50 } = request.query;
      const rows = await Outbox.findAll({ where: status ? { status } : {}, order: [['id', 'DESC']], limit, raw: true });
      request.auditSubject = { details: { status: status ?? 'any', returned: rows.length } };
      return { items: rows.map(present) };
    },
  );

  app.post(
    '/api/interfaces/outbox/:id/resend',
    {
      config: { access: 'interface:manage', audit: { eventId: 'Export', action: 'E', objectType: 'HL7Outbox' } },
      schema: {
        tags,
        summary: 'Send a dead message again (its attempts start over)',
        params: OutboxId,
        response: { 200: OutboxEntry, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const row = await Outbox.findByPk(request.params.id);
      if (!row) throw notFound('no such outbox message');
      request.auditSubject = {
        objectId: row.get('controlId'),
        patientId: present(row.get()).patientId,
        details: { destination: row.get('destination') },
      };
      if (row.get('status') !== 'dead') throw conflict(`the message is ${row.get('status')}, not dead`, 'TRANSITION_NOT_ALLOWED');
      await row.update({ status: 'pending', attempts: 0, nextAttemptAt: new Date(), lastError: '', claimedUntil: null });
      app.results.dispatcher.kick();
      return present(row.get());
    },
  );
}
