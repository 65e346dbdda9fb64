/**
 * Orthanc's stable-study webhook: verified (HMAC, timestamp, replay), answered at once with 202,
 * then ingested in the background. A failed background ingest is picked up by the reconciler.
 */

import { ErrorResponse } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { badRequest, unauthorized } from '../http-errors';
import { WebhookVerifier } from './signature';

const WebhookEvent = Type.Object({
  event: Type.Enum(['STABLE_STUDY', 'DELETED_STUDY']),
  orthancStudyId: Type.String({ pattern: '^[0-9a-f]{8}(-[0-9a-f]{8}){4}$' }),
  sentAt: Type.Optional(Type.String()),
});

export default async function ingestRoutes(app: FastifyInstance) {
  const { ingestion } = app;
  const verifier = new WebhookVerifier(app.config.webhookSecret);
  // The signature covers the exact bytes sent, so this route reads the raw body.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body));

  app.post(
    '/api/ingest/orthanc',
    {
      config: { access: 'webhook', audit: { eventId: 'Import', action: 'E', objectType: 'Study' } },
      schema: {
        tags: ['ingest'],
        summary: "Orthanc's stable-study hint (HMAC-signed); the reconciler is the safety net",
        response: { 202: Type.Object({ accepted: Type.Literal(true) }), 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const check = verifier.verify(
        request.headers['x-pacs-timestamp'] as string | undefined,
        request.headers['x-pacs-signature'] as string | undefined,
        body,
      );
      if (!check.ok) throw unauthorized(`webhook refused: ${check.reason}`, 'WEBHOOK_REFUSED');
      let event: unknown;
      try {
        event = JSON.parse(body.toString('utf8'));
      } catch {
        throw badRequest('body is not valid JSON', 'BAD_WEBHOOK');
      }
      if (!Value.Check(WebhookEvent, event)) throw badRequest('body is not a webhook event', 'BAD_WEBHOOK');
      request.auditSubject = { details: { event: event.event, orthancStudyId: event.orthancStudyId } };
      if (!ingestion) throw badRequest('Orthanc is not configured on this API', 'ORTHANC_NOT_CONFIGURED');
      const work =
        event.event === 'STABLE_STUDY'
          ? ingestion.ingestor.ingest(event.orthancStudyId, 'webhook')
          : ingestion.ingestor.markDeleted(event.orthancStudyId, 'webhook');
      work.catch((error: Error) =>
        request.log.warn({ err: error, orthancStudyId: event.orthancStudyId }, 'webhook ingest failed; reconciler will retry'),
      );
      return reply.code(202).send({ accepted: true as const });
    },
  );
}
