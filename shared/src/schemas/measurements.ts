/** Requests and answers of measurements and key images (vocabulary in ../measurements.ts). */
import { type Static, Type } from 'typebox';
import { MAX_IMAGE_COORDINATE, MEASUREMENT_TOOLS } from '../measurements';
import { IsoDateTime, Uuid } from './common';

export const DicomUid = Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9]+(\\.[0-9]+)*$', description: 'DICOM UID' });

/** Bounded: JSON turns 1e400 into Infinity, which the bound refuses; NaN is not JSON at all. */
const Coordinate = Type.Number({ minimum: -MAX_IMAGE_COORDINATE, maximum: MAX_IMAGE_COORDINATE });
const Value = Type.Number({ minimum: -1e12, maximum: 1e12 });
const Unit = Type.String({ maxLength: 16, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });
const Label = Type.String({ maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]*$', description: 'what was measured, e.g. Lesion' });

export const ImagePoint = Type.Array(Coordinate, { minItems: 2, maxItems: 2, description: 'column x, row y; pixel centres at +0.5' });

export const MeasuredValuesSchema = Type.Object(
  {
    length: Type.Optional(Value),
    angle: Type.Optional(Value),
    mean: Type.Optional(Value),
    stdDev: Type.Optional(Value),
    area: Type.Optional(Value),
    majorAxis: Type.Optional(Value),
    minorAxis: Type.Optional(Value),
  },
  { additionalProperties: false },
);

export const MeasurementUnitsSchema = Type.Object(
  { length: Type.Optional(Unit), area: Type.Optional(Unit), modality: Type.Optional(Unit) },
  { additionalProperties: false },
);

/** The editable part of a measurement. */
export const MeasurementShape = {
  label: Label,
  points: Type.Array(ImagePoint, { minItems: 2, maxItems: 4 }),
  values: MeasuredValuesSchema,
  units: MeasurementUnitsSchema,
};

export const MeasurementCreate = Type.Object(
  {
    /** Made by the device: the measurement's id, so a create replayed from the outbox is recorded once. */
    id: Uuid,
    tool: Type.Enum(MEASUREMENT_TOOLS),
    seriesInstanceUid: DicomUid,
    sopInstanceUid: DicomUid,
    frame: Type.Integer({ minimum: 1, maximum: 100_000 }),
    ...MeasurementShape,
  },
  { additionalProperties: false },
);
export type MeasurementCreate = Static<typeof MeasurementCreate>;

export const MeasurementUpdate = Type.Object(MeasurementShape, { additionalProperties: false });
export type MeasurementUpdate = Static<typeof MeasurementUpdate>;

export const MeasurementParams = Type.Object({ id: Uuid, measurementId: Uuid }, { additionalProperties: false });
export type MeasurementParams = Static<typeof MeasurementParams>;

export const Measurement = Type.Object({
  id: Uuid,
  studyId: Uuid,
  tool: Type.Enum(MEASUREMENT_TOOLS),
  seriesInstanceUid: Type.String(),
  sopInstanceUid: Type.String(),
  frame: Type.Integer(),
  label: Type.String(),
  points: Type.Array(Type.Array(Type.Number())),
  values: MeasuredValuesSchema,
  units: MeasurementUnitsSchema,
  /** Series Number and Instance Number when the archive told us (for "series 3 image 42"). */
  seriesNumber: Type.Union([Type.Integer(), Type.Null()]),
  instanceNumber: Type.Union([Type.Integer(), Type.Null()]),
  authorId: Uuid,
  authorName: Type.String(),
  authorRole: Type.String(),
  /** Whether the caller drew it (and so may change or delete it). */
  mine: Type.Boolean(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
});
export type Measurement = Static<typeof Measurement>;

export const MeasurementList = Type.Object({ items: Type.Array(Measurement) });
export type MeasurementList = Static<typeof MeasurementList>;

export const KeyImageCreate = Type.Object(
  {
    /** Made by the device, so a flag replayed from the outbox is recorded once. */
    id: Uuid,
    seriesInstanceUid: DicomUid,
    sopInstanceUid: DicomUid,
    frame: Type.Integer({ minimum: 1, maximum: 100_000 }),
    note: Type.Optional(Label),
  },
  { additionalProperties: false },
);
export type KeyImageCreate = Static<typeof KeyImageCreate>;

export const KeyImageParams = Type.Object({ id: Uuid, keyImageId: Uuid }, { additionalProperties: false });
export type KeyImageParams = Static<typeof KeyImageParams>;

export const KeyImage = Type.Object({
  id: Uuid,
  studyId: Uuid,
  seriesInstanceUid: Type.String(),
  sopInstanceUid: Type.String(),
  frame: Type.Integer(),
  note: Type.String(),
  seriesNumber: Type.Union([Type.Integer(), Type.Null()]),
  instanceNumber: Type.Union([Type.Integer(), Type.Null()]),
  flaggedById: Uuid,
  flaggedByName: Type.String(),
  createdAt: IsoDateTime,
});
export type KeyImage = Static<typeof KeyImage>;

export const KeyImageList = Type.Object({ items: Type.Array(KeyImage) });
export type KeyImageList = Static<typeof KeyImageList>;

export const MeasurementCitationRequest = Type.Object({ measurementId: Uuid }, { additionalProperties: false });
export type MeasurementCitationRequest = Static<typeof MeasurementCitationRequest>;

/** What "insert into report" puts in the Findings: the sentence, and the viewer link it carries. */
export const MeasurementCitation = Type.Object({ measurementId: Uuid, text: Type.String(), href: Type.String() });
export type MeasurementCitation = Static<typeof MeasurementCitation>;

/** A DICOM document the study's measurements or key images were exported as, stored in the archive. */
export const DicomExportResult = Type.Object({
  sopInstanceUid: Type.String(),
  seriesInstanceUid: Type.String(),
  /** How many measurements or key images it holds. */
  items: Type.Integer(),
});
export type DicomExportResult = Static<typeof DicomExportResult>;
