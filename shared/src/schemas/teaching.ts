/** The teaching file: a resident's signed reports and how much the attending changed each. */
import { type Static, Type } from 'typebox';
import { IsoDateTime, Uuid } from './common';

export const TeachingResident = Type.Object({ id: Uuid, name: Type.String(), signedReports: Type.Integer({ minimum: 0 }) });
export type TeachingResident = Static<typeof TeachingResident>;

export const TeachingResidentList = Type.Object({ residents: Type.Array(TeachingResident) }, { $id: 'TeachingResidentList' });
export type TeachingResidentList = Static<typeof TeachingResidentList>;

export const TeachingReportsQuery = Type.Object(
  {
    /** Whose reports; a resident may name only themselves (and need not). */
    residentId: Type.Optional(Uuid),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** Only reports signed before this moment (the previous page's last signedAt). */
    before: Type.Optional(IsoDateTime),
  },
  { additionalProperties: false },
);
export type TeachingReportsQuery = Static<typeof TeachingReportsQuery>;

export const TeachingReport = Type.Object({
  reportId: Uuid,
  studyId: Uuid,
  accessionNumber: Type.String(),
  studyDescription: Type.String(),
  signedAt: IsoDateTime,
  signedBy: Type.String(),
  /** The attending's changes from the resident's last preliminary to the signed text; null: no preliminary was kept. */
  changes: Type.Union([
    Type.Object({
      wordsBefore: Type.Integer(),
      inserted: Type.Integer(),
      deleted: Type.Integer(),
      /** (inserted + deleted) / wordsBefore, in percent, rounded. */
      percent: Type.Integer(),
      sectionsChanged: Type.Array(Type.String()),
    }),
    Type.Null(),
  ]),
});
export type TeachingReport = Static<typeof TeachingReport>;

export const TeachingReportPage = Type.Object(
  { residentId: Uuid, items: Type.Array(TeachingReport), nextBefore: Type.Union([IsoDateTime, Type.Null()]) },
  { $id: 'TeachingReportPage' },
);
export type TeachingReportPage = Static<typeof TeachingReportPage>;
