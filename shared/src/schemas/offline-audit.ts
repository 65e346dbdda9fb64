/**
 * Uploads of the device's offline read record (see offline-audit.ts) and the chain alarms admins
 * see in the system status.
 */
import { type Static, Type } from 'typebox';
import { GENESIS_HASH, MAX_OFFLINE_ENTRIES_PER_UPLOAD, OFFLINE_READ_EVENTS } from '../offline-audit';
import { IsoDateTime, Uuid } from './common';
import { DicomUid } from './measurements';

const Sha256Hex = Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]{64}$', description: 'SHA-256, lower-case hex' });

/** UTC with a Z, as `Date.prototype.toISOString` writes it: the hash covers the exact text. */
export const OfflineReadTime = Type.String({
  minLength: 20,
  maxLength: 24,
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3})?Z$',
  description: 'when the view happened, by the device clock (ISO 8601, UTC)',
});

export const OfflineReadEntrySchema = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
    at: OfflineReadTime,
    event: Type.Enum(OFFLINE_READ_EVENTS),
    studyId: Type.Optional(Uuid),
    reportId: Type.Optional(Uuid),
    seriesInstanceUid: Type.Optional(DicomUid),
    prevHash: Type.String({ ...Sha256Hex, description: `the previous entry's hash; ${GENESIS_HASH.slice(0, 8)}… (64 zeros) for seq 1` }),
    hash: Sha256Hex,
  },
  { additionalProperties: false },
);

export const OfflineReadsUpload = Type.Object(
  {
    deviceId: Uuid,
    entries: Type.Array(OfflineReadEntrySchema, { minItems: 1, maxItems: MAX_OFFLINE_ENTRIES_PER_UPLOAD }),
  },
  { additionalProperties: false },
);
export type OfflineReadsUpload = Static<typeof OfflineReadsUpload>;

export const OfflineChainHeadSchema = Type.Object({ seq: Type.Integer({ minimum: 0 }), hash: Sha256Hex });

/** `accepted` entries were recorded now; `replayed` ones had been already. */
export const OfflineReadsAnswer = Type.Object({
  accepted: Type.Integer({ minimum: 0 }),
  replayed: Type.Integer({ minimum: 0 }),
  head: OfflineChainHeadSchema,
});
export type OfflineReadsAnswer = Static<typeof OfflineReadsAnswer>;

/** A device whose offline read record failed the chain check: its uploads wait for an admin. */
export const OfflineAuditAlarm = Type.Object({
  kind: Type.Literal('offline-audit-chain-broken'),
  deviceId: Uuid,
  deviceLabel: Type.String(),
  userId: Uuid,
  userName: Type.String(),
  since: IsoDateTime,
  reason: Type.String(),
});
export type OfflineAuditAlarm = Static<typeof OfflineAuditAlarm>;
