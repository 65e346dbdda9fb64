/**
 * A signed report as a DICOM Encapsulated PDF in its study, so every DICOM viewer and archive that
 * holds the images also shows the report (as dcm4chee and commercial PACS store theirs). One
 * series per study holds the report's versions: the final report, then one instance per signed
 * addendum, each the whole report as signed at that moment.
 */
import { createHash } from 'node:crypto';
import type { StudyAttributes } from '../db/models';
import { da, tm, uidFromHex, writePart10 } from '../dicom/part10';
import { patientAndStudyModules } from '../dicom/study-modules';

export const ENCAPSULATED_PDF_STORAGE = '1.2.840.10008.5.1.4.1.1.104.1';
/** The series number of the reports series: high, so viewers list it after the images. */
export const REPORT_SERIES_NUMBER = 9901;

/** The reports series of a study: the same UID every time, so all versions land in one series. */
export function reportSeriesUid(studyInstanceUid: string): string {
  return uidFromHex(createHash('sha256').update(`pacs-report-series|${studyInstanceUid}`).digest('hex'));
}

/** The instance of one signature (report or addendum id): the same UID on every retry, so a resend replaces, never duplicates. */
export function reportInstanceUid(signedRowId: string): string {
  return uidFromHex(createHash('sha256').update(`pacs-report-instance|${signedRowId}`).digest('hex'));
}

export interface EncapsulatedReport {
  study: StudyAttributes;
  issuerOfPatientId: string;
  signedRowId: string;
  /** 1 for the final report, 2… for each signed addendum after it. */
  instanceNumber: number;
  signedAt: Date;
  signerName: string;
  institutionName: string;
  /** For an addendum: what it corrects. */
  title: string;
  pdf: Buffer;
}

/** The Part 10 bytes of one signed version of a report. */
export function encapsulatedReport(input: EncapsulatedReport): Buffer {
  const { study, pdf } = input;
  const sopInstanceUid = reportInstanceUid(input.signedRowId);
  // OB values are of even length: a PDF of odd length gets one trailing NUL (PS3.3 C.24.2.1).
  const document = pdf.length % 2 === 0 ? pdf : Buffer.concat([pdf, Buffer.from([0])]);
  return writePart10(ENCAPSULATED_PDF_STORAGE, sopInstanceUid, {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: ENCAPSULATED_PDF_STORAGE,
    SOPInstanceUID: sopInstanceUid,
    ...patientAndStudyModules(study, input.issuerOfPatientId),
    // Series and equipment (the Encapsulated Document series, SC equipment: a workstation made it).
    Modality: 'DOC',
    SeriesInstanceUID: reportSeriesUid(study.studyInstanceUid),
    SeriesNumber: REPORT_SERIES_NUMBER,
    SeriesDescription: 'Signed reports',
    ConversionType: 'WSD',
    Manufacturer: 'PACS',
    InstitutionName: input.institutionName || undefined,
    // The document.
    InstanceNumber: input.instanceNumber,
    ContentDate: da(input.signedAt),
    ContentTime: tm(input.signedAt),
    AcquisitionDateTime: `${da(input.signedAt)}${tm(input.signedAt)}`,
    BurnedInAnnotation: 'YES',
    DocumentTitle: input.title,
    ConceptNameCodeSequence: [{ CodeValue: '18748-4', CodingSchemeDesignator: 'LN', CodeMeaning: 'Diagnostic imaging study' }],
    MIMETypeOfEncapsulatedDocument: 'application/pdf',
    EncapsulatedDocument: document.buffer.slice(document.byteOffset, document.byteOffset + document.byteLength),
    EncapsulatedDocumentLength: pdf.length,
  });
}
