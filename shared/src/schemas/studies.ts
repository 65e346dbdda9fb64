import { type Static, Type } from 'typebox';
import { SCOPE_REASONS } from '../device-scope';
import { ORDER_MATCHES } from '../orders';
import { STUDY_ACCESS } from '../restricted-access';
import { STUDY_PRIORITIES, STUDY_STATUSES } from '../workflow';
import { Cursor, ErrorCodeSchema, IsoDateTime, Uuid } from './common';

export const StudyStatusSchema = Type.Enum(STUDY_STATUSES);
export const StudyPrioritySchema = Type.Enum(STUDY_PRIORITIES);

export const WORKLIST_SORTS = ['priority', 'received_desc', 'received_asc'] as const;
export type WorklistSort = (typeof WORKLIST_SORTS)[number];

export const WorklistStudy = Type.Object(
  {
    id: Uuid,
    studyInstanceUid: Type.String(),
    patientName: Type.String({ description: 'DICOM PN, e.g. Müller^Zoë' }),
    patientId: Type.String(),
    patientBirthDate: Type.Union([Type.String(), Type.Null()]),
    patientSex: Type.Union([Type.String(), Type.Null()]),
    accessionNumber: Type.String(),
    studyDate: Type.Union([Type.String({ description: 'YYYYMMDD' }), Type.Null()]),
    studyTime: Type.Union([Type.String(), Type.Null()]),
    description: Type.String(),
    modalities: Type.Array(Type.String()),
    bodyPart: Type.String(),
    referringPhysician: Type.String(),
    orderMatch: Type.Enum(ORDER_MATCHES, {
      description: "'matched', 'unmatched' (to reconcile), 'unordered' (confirmed), or '' without orders",
    }),
    indication: Type.String({ description: "why the study was ordered (the order's reason for exam); empty without an order" }),
    numberOfSeries: Type.Integer(),
    numberOfInstances: Type.Integer(),
    status: StudyStatusSchema,
    priority: StudyPrioritySchema,
    assignee: Type.Union([Type.Object({ id: Uuid, name: Type.String() }), Type.Null()]),
    updatedAfterArrival: Type.Boolean({ description: 'series arrived after the study was first listed' }),
    receivedAt: IsoDateTime,
    updatedAt: IsoDateTime,
    version: Type.Integer(),
    restricted: Type.Boolean({ description: 'the study or its patient is restricted' }),
    access: Type.Enum(STUDY_ACCESS, {
      description:
        "'masked': restricted, and this user has no open emergency access and is not assigned; patient name, id, birth date, sex and indication are empty",
    }),
    emergencyAccessUntil: Type.Union([IsoDateTime, Type.Null()], {
      description: "when this user's emergency access to the patient ends; null without one",
    }),
  },
  { $id: 'WorklistStudy' },
);
export type WorklistStudy = Static<typeof WorklistStudy>;

export const SeriesSummary = Type.Object({
  id: Uuid,
  seriesInstanceUid: Type.String(),
  modality: Type.String(),
  seriesNumber: Type.Union([Type.Integer(), Type.Null()]),
  description: Type.String(),
  bodyPart: Type.String(),
  numberOfInstances: Type.Integer(),
});
export type SeriesSummary = Static<typeof SeriesSummary>;

export const StudyDetail = Type.Object({ study: WorklistStudy, series: Type.Array(SeriesSummary) });
export type StudyDetail = Static<typeof StudyDetail>;

const OneOrMany = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Array(item, { maxItems: 10 });

export const WorklistQuery = Type.Object(
  {
    status: Type.Optional(OneOrMany(StudyStatusSchema)),
    priority: Type.Optional(OneOrMany(StudyPrioritySchema)),
    modality: Type.Optional(OneOrMany(Type.String({ pattern: '^[A-Z]{2,4}$' }))),
    assignee: Type.Optional(
      Type.Union([Type.Literal('me'), Type.Literal('unassigned'), Uuid], { description: "'me', 'unassigned' or a user id" }),
    ),
    dateFrom: Type.Optional(Type.String({ pattern: '^\\d{4}-?\\d{2}-?\\d{2}$', description: 'study date ≥, YYYY-MM-DD' })),
    dateTo: Type.Optional(Type.String({ pattern: '^\\d{4}-?\\d{2}-?\\d{2}$', description: 'study date ≤, YYYY-MM-DD' })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'patient name or id, accession, description' })),
    sort: Type.Optional(Type.Enum(WORKLIST_SORTS, { default: 'priority' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Cursor),
    includeTotal: Type.Optional(Type.Boolean({ default: true, description: 'count all matches (first page only)' })),
  },
  { additionalProperties: false },
);
export type WorklistQuery = Static<typeof WorklistQuery>;

export const WorklistPage = Type.Object({
  items: Type.Array(WorklistStudy),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  total: Type.Union([Type.Integer(), Type.Null()], { description: 'matches of the whole query; null on later pages' }),
});
export type WorklistPage = Static<typeof WorklistPage>;

export const StudyPatch = Type.Object(
  {
    assigneeId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    priority: Type.Optional(StudyPrioritySchema),
    status: Type.Optional(StudyStatusSchema),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'the version you saw; a stale one gets 409' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type StudyPatch = Static<typeof StudyPatch>;

export const StudyConflict = Type.Object({
  statusCode: Type.Literal(409),
  error: Type.String(),
  message: Type.String(),
  code: ErrorCodeSchema,
  requestId: Type.Optional(Type.String()),
  current: WorklistStudy,
});
export type StudyConflict = Static<typeof StudyConflict>;

const UUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/**
 * A feed position: `N` (the changes after sequence N; `0` starts a new device with a snapshot) or,
 * inside a snapshot, `s:<sequence>:<user id>:<last id sent>` (opaque to clients: pass it back).
 */
export const FeedCursor = Type.String({
  maxLength: 120,
  pattern: `^(\\d{1,19}|s:\\d{1,19}:${UUID_PATTERN}:${UUID_PATTERN})$`,
  description: 'the cursor of the previous answer; 0 or omitted: a snapshot of what this device should hold',
});

/** The database's identity: a restore from a backup changes it. */
export const FeedEpoch = Type.String({ pattern: `^${UUID_PATTERN}$`, description: 'the epoch of the previous answer' });

export const StudyChangesQuery = Type.Object(
  {
    cursor: Type.Optional(FeedCursor),
    epoch: Type.Optional(FeedEpoch),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
  },
  { additionalProperties: false },
);
export type StudyChangesQuery = Static<typeof StudyChangesQuery>;

export const ScopeReasonSchema = Type.Enum(SCOPE_REASONS);

/** A worklist row as a device stores it: with why it is on the device (see shared/src/device-scope.ts). */
export const DeviceStudy = Type.Object(
  {
    ...WorklistStudy.properties,
    // Always sent; optional only so a row stored before these fields existed still type-checks.
    scope: Type.Optional(
      Type.Array(ScopeReasonSchema, {
        minItems: 1,
        description: 'why the row is on this device: assigned, followed, recent (opened), window (new arrival), prior',
      }),
    ),
    priorOf: Type.Optional(
      Type.Array(Uuid, { description: 'the rows on the device this one is a prior of (empty unless scope has prior)' }),
    ),
    openedAt: Type.Optional(
      Type.Union([IsoDateTime, Type.Null()], { description: 'when this user last opened the study, within the recent days; else null' }),
    ),
  },
  { $id: 'DeviceStudy' },
);
export type DeviceStudy = Static<typeof DeviceStudy>;

export const StudyTombstone = Type.Object({ id: Uuid, deleted: Type.Literal(true) });
export type StudyTombstone = Static<typeof StudyTombstone>;

export const StudyChanges = Type.Object({
  changes: Type.Array(Type.Union([DeviceStudy, StudyTombstone]), {
    description: 'rows to store (upsert by id) and tombstones: deleted, or no longer on this device',
  }),
  cursor: Type.String({ description: 'pass back to get what changed after these' }),
  hasMore: Type.Boolean(),
  epoch: Type.String({ description: 'send it back: a different one on the server means start again from cursor 0' }),
});
export type StudyChanges = Static<typeof StudyChanges>;

/** 409 FEED_RESET: the device's position is not in this database; start again from cursor 0 with this epoch. */
export const FeedReset = Type.Object({
  statusCode: Type.Literal(409),
  error: Type.String(),
  message: Type.String(),
  code: ErrorCodeSchema,
  requestId: Type.Optional(Type.String()),
  epoch: Type.String(),
});
export type FeedReset = Static<typeof FeedReset>;

/** Following a study: the row as the device should store it, or a tombstone once it is no longer on the device. */
export const FollowAnswer = Type.Union([DeviceStudy, StudyTombstone]);
export type FollowAnswer = Static<typeof FollowAnswer>;

/**
 * `GET /api/studies/events` without `Accept: text/event-stream`: where the worklist change
 * sequence stands (the delta feed's cursor space). With it, a server-sent event stream of
 * `changed` events carrying the same object, never patient data.
 */
export const WorklistSequence = Type.Object({
  sequence: Type.Integer({ minimum: 0, description: 'the newest worklist change number; pull /api/studies/changes when it moves' }),
});
export type WorklistSequence = Static<typeof WorklistSequence>;

export const TurnaroundQuery = Type.Object(
  {
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 31, default: 7, description: 'days back, today included' })),
    tzOffsetMinutes: Type.Optional(
      Type.Integer({ minimum: -840, maximum: 840, default: 0, description: 'the viewer’s UTC offset, so days are their local days' }),
    ),
  },
  { additionalProperties: false },
);
export type TurnaroundQuery = Static<typeof TurnaroundQuery>;

const TurnaroundFigure = {
  medianHours: Type.Union([Type.Number(), Type.Null()], { description: 'study received → primary report finally signed' }),
  count: Type.Integer({ minimum: 0 }),
};

/** Median study-to-final time of studies whose primary report was finalized in the window. No PHI. */
export const Turnaround = Type.Object({
  from: IsoDateTime,
  to: IsoDateTime,
  ...TurnaroundFigure,
  days: Type.Array(Type.Object({ date: Type.String({ description: 'YYYY-MM-DD, local to tzOffsetMinutes' }), ...TurnaroundFigure })),
});
export type Turnaround = Static<typeof Turnaround>;
