/** What a referring physician reads: the signed reports of their own orders. */
import { type Static, Type } from 'typebox';
import { IsoDateTime, Uuid } from './common';

export const ReferrerReportAddendum = Type.Object({
  signedAt: Type.Union([IsoDateTime, Type.Null()]),
  signerName: Type.String(),
  text: Type.String(),
});

export const ReferrerReport = Type.Object({
  reportId: Uuid,
  studyId: Uuid,
  accessionNumber: Type.String(),
  patientName: Type.String(),
  patientId: Type.String(),
  studyDescription: Type.String(),
  studyDate: Type.Union([Type.String(), Type.Null()]),
  signedAt: Type.Union([IsoDateTime, Type.Null()]),
  signerName: Type.String(),
  text: Type.String(),
  addenda: Type.Array(ReferrerReportAddendum),
  /** The report and its addenda still match their signatures; false: do not rely on this text. */
  verified: Type.Boolean(),
});
export type ReferrerReport = Static<typeof ReferrerReport>;

export const ReferrerReportQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** Only reports signed before this moment (the previous page's last signedAt). */
    before: Type.Optional(IsoDateTime),
  },
  { additionalProperties: false },
);
export type ReferrerReportQuery = Static<typeof ReferrerReportQuery>;

export const ReferrerReportPage = Type.Object({
  items: Type.Array(ReferrerReport),
  /** Pass as `before` for the next page; null at the end. */
  nextBefore: Type.Union([IsoDateTime, Type.Null()]),
});
export type ReferrerReportPage = Static<typeof ReferrerReportPage>;
