/** The hospital interfaces as admins see them: the results outbox (ORU messages to send, sent, or dead). */
import { type Static, Type } from 'typebox';
import { IsoDateTime, Uuid } from './common';

export const OUTBOX_STATUSES = ['pending', 'sent', 'dead'] as const;

export const OutboxEntry = Type.Object(
  {
    id: Type.Integer(),
    destination: Type.String(),
    messageType: Type.String(),
    controlId: Type.String(),
    status: Type.Enum(OUTBOX_STATUSES),
    attempts: Type.Integer(),
    lastError: Type.String({ description: 'why the last attempt failed (the ACK or the connection error)' }),
    ackCode: Type.String(),
    reportId: Uuid,
    patientId: Type.String(),
    createdAt: IsoDateTime,
    nextAttemptAt: IsoDateTime,
    sentAt: Type.Union([IsoDateTime, Type.Null()]),
  },
  { $id: 'OutboxEntry' },
);
export type OutboxEntry = Static<typeof OutboxEntry>;

export const OutboxQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum(OUTBOX_STATUSES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);
export type OutboxQuery = Static<typeof OutboxQuery>;

export const OutboxPage = Type.Object({ items: Type.Array(OutboxEntry) });
export type OutboxPage = Static<typeof OutboxPage>;
