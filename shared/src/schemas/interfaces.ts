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

/** A person's decision on a study that came without its order: attach it to one, or confirm it needs none. */
export const OrderMatchDecision = Type.Union(
  [
    Type.Object({ orderId: Uuid }, { additionalProperties: false }),
    Type.Object({ unordered: Type.Literal(true) }, { additionalProperties: false }),
  ],
  { $id: 'OrderMatchDecision' },
);
export type OrderMatchDecision = Static<typeof OrderMatchDecision>;

/** An order still waiting for its images, as a reconciliation candidate. */
export const PendingOrder = Type.Object({
  id: Uuid,
  accessionNumber: Type.String(),
  placerOrderNumber: Type.String(),
  patientId: Type.String(),
  patientName: Type.String(),
  procedureText: Type.String(),
  modality: Type.String(),
  scheduledAt: Type.Union([IsoDateTime, Type.Null()]),
});
export type PendingOrder = Static<typeof PendingOrder>;
