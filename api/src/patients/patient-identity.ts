/**
 * A patient as an HL7 PID segment (or MRG, for the record merged away) names them, in the shape
 * the worklist keeps: DICOM person-name order (family^given^middle^prefix^suffix), DICOM dates.
 */
import type { Hl7Segment } from '@medplum/core';
import { fieldText, repetitionsOf } from '../hl7/message-reader';

export interface PatientIdentity {
  patientId: string;
  /** The assigning authority's namespace (CX-4.1), as DICOM's Issuer of Patient ID. */
  issuerOfPatientId: string;
}

export interface PatientDemographics extends PatientIdentity {
  name: string;
  birthDate: string | null;
  sex: string | null;
}

/**
 * The identifier from a CX list (PID-3, MRG-1): the medical record number (type MR) if there is
 * one, else the first. Null when there is no identifier at all.
 */
export function identityFrom(segment: Hl7Segment | undefined, field: number): PatientIdentity | null {
  const count = repetitionsOf(segment, field);
  let chosen = 0;
  for (let r = 0; r < count; r++) {
    if (fieldText(segment, field, 5, r).toUpperCase() === 'MR') {
      chosen = r;
      break;
    }
  }
  const patientId = fieldText(segment, field, 1, chosen);
  if (patientId === '') return null;
  return { patientId: patientId.slice(0, 64), issuerOfPatientId: fieldText(segment, field, 4, chosen, 0).slice(0, 64) };
}

/** XPN (PID-5): family^given^middle^suffix^prefix → DICOM PN. The family name's own parts are subcomponents. */
export function personNameFromXpn(segment: Hl7Segment | undefined, field: number): string {
  return dicomName(
    fieldText(segment, field, 1, 0, 0),
    fieldText(segment, field, 2),
    fieldText(segment, field, 3),
    fieldText(segment, field, 5),
    fieldText(segment, field, 4),
  );
}

/** XCN (a physician: ORC-12, OBR-16, PV1-8): id^family^given^middle^suffix^prefix → DICOM PN. */
export function personNameFromXcn(segment: Hl7Segment | undefined, field: number): string {
  return dicomName(
    fieldText(segment, field, 2, 0, 0),
    fieldText(segment, field, 3),
    fieldText(segment, field, 4),
    fieldText(segment, field, 6),
    fieldText(segment, field, 5),
  );
}

function dicomName(family: string, given: string, middle: string, prefix: string, suffix: string): string {
  const clean = (part: string) => part.replace(/[\^=\\]/g, ' ').trim();
  return [family, given, middle, prefix, suffix].map(clean).join('^').replace(/\^+$/, '').slice(0, 324);
}

/** PID: identity (null without one), name, birth date (DICOM DA) and sex (M, F, O). */
export function demographicsFromPid(pid: Hl7Segment | undefined): PatientDemographics | null {
  const identity = identityFrom(pid, 3);
  if (!identity) return null;
  const birth = fieldText(pid, 7).slice(0, 8);
  const sex = fieldText(pid, 8).toUpperCase();
  return {
    ...identity,
    name: personNameFromXpn(pid, 5),
    birthDate: /^\d{8}$/.test(birth) ? birth : null,
    sex: sex === 'M' || sex === 'F' || sex === 'O' ? sex : null,
  };
}
