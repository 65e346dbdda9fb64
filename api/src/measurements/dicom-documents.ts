/**
 * The study's measurements as a DICOM SR Measurement Report (TID 1500) and its key images as a Key
 * Object Selection document (TID 2010), so OHIF and other DICOM viewers show them. Written with
 * dcmjs (dicom/part10.ts) from naturalized datasets; coordinates are image pixels (column, row; the
 * top-left corner of the first pixel is 0,0, as SCOORD wants and as the viewer stores them).
 */
import { createHash } from 'node:crypto';
import type { MeasuredValues, MeasurementTool, MeasurementUnits } from '@pacs/shared';
import { da, tm, uidFromHex, writePart10 } from '../dicom/part10';
import { type DocumentStudyFields, patientAndStudyModules } from '../dicom/study-modules';

export const ENHANCED_SR_STORAGE = '1.2.840.10008.5.1.4.1.1.88.22';
export const KEY_OBJECT_SELECTION_STORAGE = '1.2.840.10008.5.1.4.1.1.88.59';
export const MEASUREMENTS_SERIES_NUMBER = 9902;
export const KEY_IMAGES_SERIES_NUMBER = 9903;

type Code = { CodeValue: string; CodingSchemeDesignator: string; CodeMeaning: string };
const code = (value: string, scheme: string, meaning: string): Code => ({
  CodeValue: value,
  CodingSchemeDesignator: scheme,
  CodeMeaning: meaning,
});

const CODES = {
  measurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  language: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  english: code('eng', 'RFC5646', 'English'),
  observer: code('121008', 'DCM', 'Person Observer Name'),
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  imagingProcedure: code('363679005', 'SCT', 'Imaging procedure'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  trackingId: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUid: code('112040', 'DCM', 'Tracking Unique Identifier'),
  length: code('410668003', 'SCT', 'Length'),
  // No standard code names a planar angle measurement; a private one says what it is.
  angle: code('ANGLE', '99PACS', 'Angle'),
  longAxis: code('103339001', 'SCT', 'Long Axis'),
  shortAxis: code('103340004', 'SCT', 'Short Axis'),
  area: code('42798000', 'SCT', 'Area'),
  mean: code('373098007', 'SCT', 'Mean'),
  stdDev: code('386136009', 'SCT', 'Standard Deviation'),
  ofInterest: code('113000', 'DCM', 'Of Interest'),
  keyObjectDescription: code('113012', 'DCM', 'Key Object Description'),
};

const UNITS: Record<string, Code> = {
  mm: code('mm', 'UCUM', 'millimeter'),
  'mm²': code('mm2', 'UCUM', 'square millimeter'),
  deg: code('deg', 'UCUM', 'degree'),
  HU: code("[hnsf'U]", 'UCUM', 'Hounsfield unit'),
  px: code('{pixel}', 'UCUM', 'pixel'),
  'px²': code('{pixel2}', 'UCUM', 'square pixel'),
};
const unitCode = (unit: string | undefined, fallback: string): Code =>
  UNITS[unit ?? ''] ?? (unit ? code('1', 'UCUM', unit) : UNITS[fallback]!);

/** One referenced image: its SOP class from the archive's instance row. */
export interface ReferencedImage {
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  frame: number;
}

export interface DocumentMeasurement extends ReferencedImage {
  id: string;
  tool: MeasurementTool;
  label: string;
  points: number[][];
  values: MeasuredValues;
  units: MeasurementUnits;
  authorName: string;
}

export interface DocumentStudy {
  study: DocumentStudyFields;
  institutionName: string;
  createdAt: Date;
}

const hashUid = (...parts: string[]) => uidFromHex(createHash('sha256').update(parts.join('|')).digest('hex'));

/** Patient and study (the study's own), then the SR Document General module's common parts. */
function header(
  input: DocumentStudy,
  sopClassUid: string,
  sopInstanceUid: string,
  series: { uid: string; number: number; description: string; modality: string },
) {
  const { study, createdAt } = input;
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: sopClassUid,
    SOPInstanceUID: sopInstanceUid,
    ...patientAndStudyModules(study),
    Modality: series.modality,
    SeriesInstanceUID: series.uid,
    SeriesNumber: series.number,
    SeriesDescription: series.description,
    Manufacturer: 'PACS',
    InstitutionName: input.institutionName || undefined,
    InstanceNumber: Math.floor(createdAt.getTime() / 1000) % 2147483647,
    ContentDate: da(createdAt),
    ContentTime: tm(createdAt),
    ReferencedPerformedProcedureStepSequence: [],
    ValueType: 'CONTAINER',
    ContinuityOfContent: 'SEPARATE',
  };
}

/** The evidence: every image referenced, by series. */
function evidence(studyInstanceUid: string, images: readonly ReferencedImage[]) {
  const bySeries = new Map<string, Map<string, ReferencedImage>>();
  for (const image of images) {
    const series = bySeries.get(image.seriesInstanceUid) ?? new Map<string, ReferencedImage>();
    series.set(image.sopInstanceUid, image);
    bySeries.set(image.seriesInstanceUid, series);
  }
  return [
    {
      StudyInstanceUID: studyInstanceUid,
      ReferencedSeriesSequence: [...bySeries].map(([seriesUid, instances]) => ({
        SeriesInstanceUID: seriesUid,
        ReferencedSOPSequence: [...instances.values()].map((i) => ({
          ReferencedSOPClassUID: i.sopClassUid,
          ReferencedSOPInstanceUID: i.sopInstanceUid,
        })),
      })),
    },
  ];
}

const imageItem = (image: ReferencedImage, relationship: string) => ({
  RelationshipType: relationship,
  ValueType: 'IMAGE',
  ReferencedSOPSequence: [
    {
      ReferencedSOPClassUID: image.sopClassUid,
      ReferencedSOPInstanceUID: image.sopInstanceUid,
      ReferencedFrameNumber: image.frame > 1 ? image.frame : undefined,
    },
  ],
});

const round = (value: number) => Number(value.toPrecision(12));

function numeric(concept: Code, value: number | undefined, unit: Code, scoord?: Record<string, unknown>) {
  if (value === undefined) return [];
  return [
    {
      RelationshipType: 'CONTAINS',
      ValueType: 'NUM',
      ConceptNameCodeSequence: [concept],
      MeasuredValueSequence: [{ MeasurementUnitsCodeSequence: [unit], NumericValue: round(value) }],
      ContentSequence: scoord ? [scoord] : undefined,
    },
  ];
}

/** The ellipse's axes as SCOORD ELLIPSE wants them: the major axis's ends first. */
function ellipsePoints(points: number[][]): number[][] {
  const [bottom, top, left, right] = points as [number[], number[], number[], number[]];
  const length = (a: number[], b: number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!);
  return length(bottom, top) >= length(left, right) ? [bottom, top, left, right] : [left, right, bottom, top];
}

function measurementGroup(m: DocumentMeasurement) {
  const graphic = m.tool === 'EllipticalROI' ? ellipsePoints(m.points) : m.points;
  const scoord = {
    RelationshipType: 'INFERRED FROM',
    ValueType: 'SCOORD',
    GraphicType: m.tool === 'EllipticalROI' ? 'ELLIPSE' : 'POLYLINE',
    GraphicData: graphic.flat(),
    ContentSequence: [imageItem(m, 'SELECTED FROM')],
  };
  const lengthUnit = unitCode(m.units.length, 'mm');
  const items =
    m.tool === 'Length'
      ? numeric(CODES.length, m.values.length, lengthUnit, scoord)
      : m.tool === 'Angle'
        ? numeric(CODES.angle, m.values.angle, UNITS.deg!, scoord)
        : [
            ...numeric(CODES.longAxis, m.values.majorAxis, lengthUnit, scoord),
            ...numeric(CODES.shortAxis, m.values.minorAxis, lengthUnit, scoord),
            ...numeric(CODES.area, m.values.area, unitCode(m.units.area, 'mm²'), scoord),
            ...numeric(CODES.mean, m.values.mean, unitCode(m.units.modality, 'HU'), scoord),
            ...numeric(CODES.stdDev, m.values.stdDev, unitCode(m.units.modality, 'HU'), scoord),
          ];
  return {
    RelationshipType: 'CONTAINS',
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [CODES.measurementGroup],
    ContinuityOfContent: 'SEPARATE',
    ContentSequence: [
      { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'TEXT', ConceptNameCodeSequence: [CODES.trackingId], TextValue: m.label || m.tool },
      {
        RelationshipType: 'HAS OBS CONTEXT',
        ValueType: 'UIDREF',
        ConceptNameCodeSequence: [CODES.trackingUid],
        UID: hashUid('pacs-measurement', m.id),
      },
      ...items,
    ],
  };
}

export interface DicomDocument {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  file: Buffer;
}

/**
 * TID 1500 of these measurements. The instance UID follows from what it holds, so exporting the
 * same measurements again stores nothing new.
 */
export function measurementReport(input: DocumentStudy, measurements: readonly DocumentMeasurement[], observerName: string): DicomDocument {
  const uid = input.study.studyInstanceUid;
  const seriesInstanceUid = hashUid('pacs-measurement-series', uid);
  const sopInstanceUid = hashUid('pacs-measurement-report', uid, JSON.stringify(measurements));
  const file = writePart10(ENHANCED_SR_STORAGE, sopInstanceUid, {
    ...header(input, ENHANCED_SR_STORAGE, sopInstanceUid, {
      uid: seriesInstanceUid,
      number: MEASUREMENTS_SERIES_NUMBER,
      description: 'Measurements',
      modality: 'SR',
    }),
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    PerformedProcedureCodeSequence: [],
    ConceptNameCodeSequence: [CODES.measurementReport],
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    CurrentRequestedProcedureEvidenceSequence: evidence(uid, measurements),
    ContentSequence: [
      {
        RelationshipType: 'HAS CONCEPT MOD',
        ValueType: 'CODE',
        ConceptNameCodeSequence: [CODES.language],
        ConceptCodeSequence: [CODES.english],
      },
      { RelationshipType: 'HAS OBS CONTEXT', ValueType: 'PNAME', ConceptNameCodeSequence: [CODES.observer], PersonName: observerName },
      {
        RelationshipType: 'HAS CONCEPT MOD',
        ValueType: 'CODE',
        ConceptNameCodeSequence: [CODES.procedureReported],
        ConceptCodeSequence: [CODES.imagingProcedure],
      },
      {
        RelationshipType: 'CONTAINS',
        ValueType: 'CONTAINER',
        ConceptNameCodeSequence: [CODES.imagingMeasurements],
        ContinuityOfContent: 'SEPARATE',
        ContentSequence: measurements.map(measurementGroup),
      },
    ],
  });
  return { sopInstanceUid, seriesInstanceUid, file };
}

/** TID 2010 "Of Interest" of these key images. */
export function keyObjectSelection(input: DocumentStudy, images: readonly (ReferencedImage & { note: string })[]): DicomDocument {
  const uid = input.study.studyInstanceUid;
  const seriesInstanceUid = hashUid('pacs-key-image-series', uid);
  const sopInstanceUid = hashUid('pacs-key-images', uid, JSON.stringify(images));
  const notes = images.map((i) => i.note).filter(Boolean);
  const file = writePart10(KEY_OBJECT_SELECTION_STORAGE, sopInstanceUid, {
    ...header(input, KEY_OBJECT_SELECTION_STORAGE, sopInstanceUid, {
      uid: seriesInstanceUid,
      number: KEY_IMAGES_SERIES_NUMBER,
      description: 'Key images',
      modality: 'KO',
    }),
    ConceptNameCodeSequence: [CODES.ofInterest],
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '2010' }],
    CurrentRequestedProcedureEvidenceSequence: evidence(uid, images),
    ContentSequence: [
      ...(notes.length > 0
        ? [
            {
              RelationshipType: 'CONTAINS',
              ValueType: 'TEXT',
              ConceptNameCodeSequence: [CODES.keyObjectDescription],
              TextValue: notes.join('; ').slice(0, 1024),
            },
          ]
        : []),
      ...images.map((image) => imageItem(image, 'CONTAINS')),
    ],
  });
  return { sopInstanceUid, seriesInstanceUid, file };
}
