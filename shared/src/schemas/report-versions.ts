/** A report's history: the immutable versions stored at submit, return and final, and what changed between two. */
import { type Static, Type } from 'typebox';
import { IsoDateTime, Uuid } from './common';
import { ReportContent } from './reports';

export const ReportVersionEvent = Type.Union([Type.Literal('submit'), Type.Literal('return'), Type.Literal('finalize')]);

export const ReportVersionSummary = Type.Object({
  sequence: Type.Integer({ minimum: 1 }),
  event: ReportVersionEvent,
  /** The report's status once the event happened. */
  status: Type.String(),
  userId: Uuid,
  userName: Type.String(),
  createdAt: IsoDateTime,
  words: Type.Integer({ minimum: 0 }),
});
export type ReportVersionSummary = Static<typeof ReportVersionSummary>;

export const ReportVersionList = Type.Object({ reportId: Uuid, versions: Type.Array(ReportVersionSummary) }, { $id: 'ReportVersionList' });
export type ReportVersionList = Static<typeof ReportVersionList>;

export const ReportVersionView = Type.Object(
  { reportId: Uuid, version: ReportVersionSummary, content: Type.Omit(ReportContent, ['hash']) },
  { $id: 'ReportVersionView' },
);
export type ReportVersionView = Static<typeof ReportVersionView>;

export const ReportVersionParams = Type.Object({ id: Uuid, sequence: Type.Integer({ minimum: 1, maximum: 100000 }) });
export type ReportVersionParams = Static<typeof ReportVersionParams>;

export const ReportChangesQuery = Type.Object(
  {
    /** The earlier version; default: the first submit (the resident's preliminary). */
    from: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    /** The later version; default: the last one. */
    to: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  },
  { additionalProperties: false },
);
export type ReportChangesQuery = Static<typeof ReportChangesQuery>;

const DiffPart = Type.Object({
  kind: Type.Union([Type.Literal('same'), Type.Literal('inserted'), Type.Literal('deleted')]),
  text: Type.String(),
});

export const ReportChanges = Type.Object(
  {
    reportId: Uuid,
    from: ReportVersionSummary,
    to: ReportVersionSummary,
    sections: Type.Array(
      Type.Object({
        key: Type.String(),
        title: Type.String(),
        parts: Type.Array(DiffPart),
        inserted: Type.Integer(),
        deleted: Type.Integer(),
      }),
    ),
    inserted: Type.Integer({ description: 'words inserted from → to' }),
    deleted: Type.Integer({ description: 'words deleted from → to' }),
    wordsBefore: Type.Integer(),
  },
  { $id: 'ReportChanges' },
);
export type ReportChanges = Static<typeof ReportChanges>;
