import { type Static, Type } from 'typebox';
import { BREAK_GLASS_REASON_MAX, RESTRICTION_SOURCES, REVIEW_NOTE_MAX, REVIEW_STATUSES, REVIEW_VERDICTS } from '../restricted-access';
import { Cursor, IsoDateTime, Uuid } from './common';

export const RestrictionSourceSchema = Type.Enum(RESTRICTION_SOURCES);

/** `PUT /api/studies/:id/restriction` and `PUT /api/patients/:id/restriction`. */
export const RestrictionUpdate = Type.Object(
  {
    restricted: Type.Boolean(),
    liftExternal: Type.Optional(
      Type.Boolean({ description: 'required (true) to lift a restriction that came from an order or the DICOM tags' }),
    ),
  },
  { additionalProperties: false },
);
export type RestrictionUpdate = Static<typeof RestrictionUpdate>;

export const RestrictionState = Type.Object({
  restricted: Type.Boolean(),
  source: Type.Union([RestrictionSourceSchema, Type.Null()]),
});
export type RestrictionState = Static<typeof RestrictionState>;

/** The patient whose restriction an admin sets: the patient record's id (a study's `patientRef`). */
export const PatientRefParams = Type.Object({ id: Uuid }, { additionalProperties: false });

/**
 * `POST /api/studies/:id/break-glass`. The reason's length and characters are checked by
 * checkBreakGlassReason (so the 400 names the rule); the schema bounds only the size.
 */
export const BreakGlassRequest = Type.Object(
  { reason: Type.String({ maxLength: BREAK_GLASS_REASON_MAX * 4, description: 'why the data is needed now (≥ 10 characters)' }) },
  { additionalProperties: false },
);
export type BreakGlassRequest = Static<typeof BreakGlassRequest>;

/** An open emergency access window as its user sees it. */
export const AccessWindow = Type.Object({
  id: Uuid,
  studyId: Uuid,
  openedAt: IsoDateTime,
  expiresAt: IsoDateTime,
  closedAt: Type.Union([IsoDateTime, Type.Null()]),
});
export type AccessWindow = Static<typeof AccessWindow>;

export const AccessWindowList = Type.Object({ items: Type.Array(AccessWindow) });
export type AccessWindowList = Static<typeof AccessWindowList>;

export const EmergencyAccessQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum(REVIEW_STATUSES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type EmergencyAccessQuery = Static<typeof EmergencyAccessQuery>;

/** One emergency access for the privacy officer: who, why, what was opened, when, and the verdict. */
export const EmergencyAccess = Type.Object({
  id: Uuid,
  user: Type.Object({ id: Uuid, name: Type.String(), email: Type.String(), role: Type.String() }),
  reason: Type.String(),
  patientId: Type.String(),
  patientName: Type.String(),
  study: Type.Object({ id: Uuid, studyInstanceUid: Type.String(), accessionNumber: Type.String(), description: Type.String() }),
  openedAt: IsoDateTime,
  expiresAt: IsoDateTime,
  closedAt: Type.Union([IsoDateTime, Type.Null()]),
  accesses: Type.Integer({ minimum: 0, description: 'audit rows of patient data read through this window' }),
  reviewStatus: Type.Enum(REVIEW_STATUSES),
  reviewedBy: Type.Union([Type.Object({ id: Uuid, name: Type.String() }), Type.Null()]),
  reviewedAt: Type.Union([IsoDateTime, Type.Null()]),
  reviewNote: Type.String(),
});
export type EmergencyAccess = Static<typeof EmergencyAccess>;

export const EmergencyAccessPage = Type.Object({
  items: Type.Array(EmergencyAccess),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type EmergencyAccessPage = Static<typeof EmergencyAccessPage>;

export const EmergencyAccessReview = Type.Object(
  { verdict: Type.Enum(REVIEW_VERDICTS), note: Type.Optional(Type.String({ maxLength: REVIEW_NOTE_MAX })) },
  { additionalProperties: false },
);
export type EmergencyAccessReview = Static<typeof EmergencyAccessReview>;
