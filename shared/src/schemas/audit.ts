import { type Static, Type } from 'typebox';
import { AUDIT_ACTIONS, AUDIT_EVENT_IDS, type AUDIT_OUTCOMES } from '../audit-vocabulary';
import { Cursor, IsoDateTime, PageLimit, Uuid } from './common';

export const AuditEventIdSchema = Type.Enum(AUDIT_EVENT_IDS);
export const AuditActionSchema = Type.Enum(AUDIT_ACTIONS);
// Literals, not an enum: each carries `type: number`, which a query string's "8" is coerced by (a bare
// `enum` is compared as the string and refused).
export const AuditOutcomeSchema = Type.Union([Type.Literal(0), Type.Literal(4), Type.Literal(8), Type.Literal(12)]);
// The literals above are AUDIT_OUTCOMES, no more and no fewer: a change to one fails to compile here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const outcomesAgree: Same<Static<typeof AuditOutcomeSchema>, (typeof AUDIT_OUTCOMES)[number]> = true;
void outcomesAgree;

export const AuditEntry = Type.Object({
  id: Type.String({ description: 'monotonic sequence number, as a string' }),
  eventId: AuditEventIdSchema,
  action: AuditActionSchema,
  outcome: AuditOutcomeSchema,
  eventDateTime: IsoDateTime,
  userId: Type.Union([Uuid, Type.Null()]),
  userRole: Type.Union([Type.String(), Type.Null()]),
  networkAddress: Type.Union([Type.String(), Type.Null()]),
  objectType: Type.Union([Type.String(), Type.Null()]),
  objectId: Type.Union([Type.String(), Type.Null()]),
  patientId: Type.Union([Type.String(), Type.Null()]),
  studyUid: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditQuery = Type.Object(
  {
    from: Type.Optional(IsoDateTime),
    to: Type.Optional(IsoDateTime),
    userId: Type.Optional(Uuid),
    patientId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    studyUid: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    eventId: Type.Optional(AuditEventIdSchema),
    action: Type.Optional(AuditActionSchema),
    outcome: Type.Optional(AuditOutcomeSchema),
    objectType: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    limit: Type.Optional(PageLimit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

/** Newest first; `nextCursor` continues to older rows. */
export const AuditPage = Type.Object({
  items: Type.Array(AuditEntry),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type AuditPage = Static<typeof AuditPage>;
