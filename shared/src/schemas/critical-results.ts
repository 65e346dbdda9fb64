/** Requests and answers of the critical-results loop (vocabulary in ../critical-results.ts). */
import { type Static, Type } from 'typebox';
import {
  CRITICAL_ACK_CHANNELS,
  CRITICAL_CATEGORIES,
  CRITICAL_ESCALATION_LEVELS,
  CRITICAL_EVENT_CHANNELS,
  CRITICAL_EVENT_KINDS,
  CRITICAL_STATUSES,
} from '../critical-results';
import { IsoDateTime, Uuid } from './common';

export const CriticalCategorySchema = Type.Enum(CRITICAL_CATEGORIES);
export const CriticalAckChannelSchema = Type.Enum(CRITICAL_ACK_CHANNELS);

export const CriticalFlagRequest = Type.Object(
  {
    category: CriticalCategorySchema,
    message: Type.String({ minLength: 1, maxLength: 2000, description: 'the finding, as the recipient must hear it' }),
    /** Chosen by the device, so a flag replayed from an offline outbox is recorded once. */
    clientId: Type.Optional(Uuid),
    /** When the user raised it on the device (shown; the clock starts at the server's receipt). */
    raisedAt: Type.Optional(IsoDateTime),
  },
  { additionalProperties: false },
);
export type CriticalFlagRequest = Static<typeof CriticalFlagRequest>;

export const CriticalAckRequest = Type.Object(
  {
    channel: CriticalAckChannelSchema,
    /** Who received it, when a radiologist records a phone call or a conversation. */
    receivedBy: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** The recipient repeated the finding back (required for phone). */
    readBack: Type.Optional(Type.Boolean()),
    note: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type CriticalAckRequest = Static<typeof CriticalAckRequest>;

export const CriticalWithdrawRequest = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
);
export type CriticalWithdrawRequest = Static<typeof CriticalWithdrawRequest>;

export const CriticalEvent = Type.Object({
  at: IsoDateTime,
  kind: Type.Enum(CRITICAL_EVENT_KINDS),
  channel: Type.Enum(CRITICAL_EVENT_CHANNELS),
  level: Type.Enum(CRITICAL_ESCALATION_LEVELS),
  /** A person's name, an e-mail address or an HL7 destination; never a message body. */
  target: Type.String(),
  actorName: Type.String(),
  detail: Type.String(),
});
export type CriticalEvent = Static<typeof CriticalEvent>;

export const CriticalResult = Type.Object({
  id: Uuid,
  reportId: Uuid,
  studyId: Uuid,
  accessionNumber: Type.String(),
  patientName: Type.String(),
  patientId: Type.String(),
  studyDescription: Type.String(),
  category: CriticalCategorySchema,
  message: Type.String(),
  status: Type.Enum(CRITICAL_STATUSES),
  flaggedByName: Type.String(),
  raisedAt: Type.Union([IsoDateTime, Type.Null()]),
  /** The server's receipt: the clock's start. */
  flaggedAt: IsoDateTime,
  dueAt: IsoDateTime,
  level: Type.Enum(CRITICAL_ESCALATION_LEVELS),
  recipientName: Type.String(),
  /** False when no account is linked to the ordering physician: someone must call them. */
  recipientReachable: Type.Boolean(),
  acknowledgedAt: Type.Union([IsoDateTime, Type.Null()]),
  acknowledgedByName: Type.String(),
  ackChannel: Type.Union([CriticalAckChannelSchema, Type.Null()]),
  receivedBy: Type.String(),
  events: Type.Array(CriticalEvent),
});
export type CriticalResult = Static<typeof CriticalResult>;

export const CriticalResultQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum(CRITICAL_STATUSES)),
    reportId: Type.Optional(Uuid),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { additionalProperties: false },
);
export type CriticalResultQuery = Static<typeof CriticalResultQuery>;

export const CriticalResultList = Type.Object({ items: Type.Array(CriticalResult) });
export type CriticalResultList = Static<typeof CriticalResultList>;
