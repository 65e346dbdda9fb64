/**
 * Our rows as FHIR R4 resources (read-only): Patient, ServiceRequest (an order), ImagingStudy (a
 * study) and DiagnosticReport (a signed or preliminary report, with its critical-result
 * communications contained). Pure functions; the tests validate
 * every resource they get against the official FHIR R4 JSON schema.
 */
import { criticalLine } from '../critical-results/communication-record';
import type { CriticalResultAttributes } from '../db/critical-models';
import type { PatientAttributes, ReportAttributes, StudyAttributes } from '../db/models';
import type { OrderAttributes } from '../db/order-models';
import { codedConceptsOf, fhirSystemOf } from '../reports/coded-content';
import { decodeModalities } from '../worklist/present';

export type FhirResource = { resourceType: string; id: string } & Record<string, unknown>;

/** Where the issuer of a patient id, a DICOM UID or an accession number is named. */
export const SYSTEMS = {
  issuer: (issuer: string) => `urn:pacs:patient-id-issuer:${encodeURIComponent(issuer || 'local')}`,
  placer: (namespace: string) => `urn:pacs:placer:${encodeURIComponent(namespace)}`,
  accession: 'urn:pacs:accession',
  dicomUid: 'urn:dicom:uid',
  dicomModality: 'http://dicom.nema.org/resources/ontology/DCM',
  loinc: 'http://loinc.org',
  identifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  observationValue: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
} as const;

/** DICOM DA (YYYYMMDD) → FHIR date; undefined when it is not one. */
export function fhirDate(value: string | null | undefined): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value ?? '');
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** DICOM DA + TM → FHIR dateTime (the server's zone is not known to DICOM: the date alone when no time). */
function fhirDateTime(date: string | null, time: string | null): string | undefined {
  const day = fhirDate(date);
  if (!day) return undefined;
  const m = /^(\d{2})(\d{2})(\d{2})?/.exec(time ?? '');
  return m ? `${day}T${m[1]}:${m[2]}:${m[3] ?? '00'}Z` : day;
}

/** DICOM PN family^given^middle^prefix^suffix → HumanName. */
export function humanName(pn: string): Record<string, unknown>[] {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = pn
    .split('=')[0]!
    .split('^')
    .map((p) => p.trim());
  if (!family && !given) return [];
  const name: Record<string, unknown> = { text: [prefix, given, middle, family, suffix].filter(Boolean).join(' ') };
  if (family) name.family = family;
  const givens = [given, middle].filter(Boolean);
  if (givens.length) name.given = givens;
  if (prefix) name.prefix = [prefix];
  if (suffix) name.suffix = [suffix];
  return [name];
}

const GENDER: Readonly<Record<string, string>> = { M: 'male', F: 'female', O: 'other' };

export function patientResource(patient: PatientAttributes): FhirResource {
  const resource: FhirResource = {
    resourceType: 'Patient',
    id: patient.id,
    identifier: [
      {
        type: { coding: [{ system: SYSTEMS.identifierType, code: 'MR' }] },
        system: SYSTEMS.issuer(patient.issuerOfPatientId),
        value: patient.patientId,
      },
    ],
    gender: GENDER[patient.sex ?? ''] ?? 'unknown',
  };
  const name = humanName(patient.name);
  if (name.length) resource.name = name;
  const birthDate = fhirDate(patient.birthDate);
  if (birthDate) resource.birthDate = birthDate;
  return resource;
}

const ORDER_STATUS: Readonly<Record<OrderAttributes['status'], string>> = {
  scheduled: 'active',
  on_hold: 'on-hold',
  cancelled: 'revoked',
  arrived: 'completed',
};

export function serviceRequestStatus(status: OrderAttributes['status']): string {
  return ORDER_STATUS[status];
}

function accessionIdentifier(accession: string): Record<string, unknown> {
  return { type: { coding: [{ system: SYSTEMS.identifierType, code: 'ACSN' }] }, system: SYSTEMS.accession, value: accession };
}

export function serviceRequestResource(order: OrderAttributes): FhirResource {
  const resource: FhirResource = {
    resourceType: 'ServiceRequest',
    id: order.id,
    identifier: [
      {
        type: { coding: [{ system: SYSTEMS.identifierType, code: 'PLAC' }] },
        system: SYSTEMS.placer(order.placerNamespace),
        value: order.placerOrderNumber,
      },
      accessionIdentifier(order.accessionNumber),
    ],
    status: serviceRequestStatus(order.status),
    intent: 'order',
    priority: order.priority === 'stat' ? 'stat' : order.priority === 'urgent' ? 'urgent' : 'routine',
    code: {
      ...(order.procedureCode ? { coding: [{ code: order.procedureCode, display: order.procedureText || undefined }] } : {}),
      text: order.procedureText || order.procedureCode || 'Imaging procedure',
    },
    subject: { reference: `Patient/${order.patientRef}` },
    authoredOn: new Date(order.createdAt).toISOString(),
  };
  if (order.scheduledAt) resource.occurrenceDateTime = new Date(order.scheduledAt).toISOString();
  if (order.orderingPhysician) resource.requester = { display: order.orderingPhysician.replace(/\^+/g, ' ').trim() };
  if (order.reasonForExam) resource.reasonCode = [{ text: order.reasonForExam }];
  if (order.clinicalHistory) resource.note = [{ text: order.clinicalHistory }];
  return resource;
}

export function imagingStudyResource(study: StudyAttributes): FhirResource {
  const modalities = decodeModalities(study.modalities);
  const resource: FhirResource = {
    resourceType: 'ImagingStudy',
    id: study.id,
    identifier: [{ system: SYSTEMS.dicomUid, value: `urn:oid:${study.studyInstanceUid}` }],
    status: study.status === 'scheduled' ? 'registered' : 'available',
    subject: { reference: `Patient/${study.patientRef}` },
    numberOfSeries: study.numberOfSeries,
    numberOfInstances: study.numberOfInstances,
  };
  if (study.accessionNumber) (resource.identifier as unknown[]).push(accessionIdentifier(study.accessionNumber));
  if (modalities.length) resource.modality = modalities.map((code) => ({ system: SYSTEMS.dicomModality, code }));
  const started = fhirDateTime(study.studyDate, study.studyTime);
  if (started) resource.started = started;
  if (study.orderRef) resource.basedOn = [{ reference: `ServiceRequest/${study.orderRef}` }];
  if (study.description) resource.description = study.description;
  if (study.indication) resource.reasonCode = [{ text: study.indication }];
  return resource;
}

const REPORT_STATUS: Readonly<Partial<Record<ReportAttributes['status'], string>>> = {
  preliminary: 'preliminary',
  final: 'final',
  addended: 'amended',
};

/** The FHIR status of a report, or null for one that is not a result yet (draft, returned). */
export function diagnosticReportStatus(status: ReportAttributes['status']): string | null {
  return REPORT_STATUS[status] ?? null;
}

const COMMUNICATION_PRIORITY: Record<CriticalResultAttributes['category'], string> = { red: 'stat', orange: 'asap', yellow: 'urgent' };

/**
 * A critical result's communication as a contained Communication about its report: sent when the
 * server received the flag, received when acknowledged (status completed), still in progress when not.
 */
export function criticalCommunication(result: CriticalResultAttributes, study: StudyAttributes): FhirResource {
  const resource: FhirResource = {
    resourceType: 'Communication',
    id: `critical-${result.id}`,
    status: result.status === 'acknowledged' ? 'completed' : 'in-progress',
    category: [{ text: `Critical result (${result.category})` }],
    priority: COMMUNICATION_PRIORITY[result.category],
    subject: { reference: `Patient/${study.patientRef}` },
    about: [{ reference: '#' }],
    sent: new Date(result.flaggedAt).toISOString(),
    sender: { display: result.flaggedByName },
    payload: [{ contentString: result.message }],
    note: [{ text: criticalLine(result) }],
  };
  const recipient = result.receivedBy || result.recipientName;
  if (recipient) resource.recipient = [{ display: recipient }];
  if (result.acknowledgedAt) resource.received = new Date(result.acknowledgedAt).toISOString();
  return resource;
}

export function diagnosticReportResource(
  report: ReportAttributes,
  study: StudyAttributes,
  addenda: ReportAttributes[],
  critical: CriticalResultAttributes[] = [],
  /** A signed part failed its integrity check (hash or installation signature). */
  unreliable = false,
): FhirResource {
  const final = report.status === 'final' || report.status === 'addended';
  const resource: FhirResource = {
    resourceType: 'DiagnosticReport',
    id: report.id,
    status: diagnosticReportStatus(report.status) ?? 'registered',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD', display: 'Radiology' }] }],
    code: {
      coding: [{ system: SYSTEMS.loinc, code: '18748-4', display: 'Diagnostic imaging study' }],
      text: study.description || 'Imaging report',
    },
    subject: { reference: `Patient/${study.patientRef}` },
    imagingStudy: [{ reference: `ImagingStudy/${study.id}` }],
    presentedForm: [{ contentType: 'application/pdf', url: `/api/reports/${report.id}/pdf`, title: 'Radiology report (PDF)' }],
  };
  if (study.orderRef) resource.basedOn = [{ reference: `ServiceRequest/${study.orderRef}` }];
  if (study.accessionNumber) resource.identifier = [accessionIdentifier(study.accessionNumber)];
  const signedAt = final ? report.finalSignedAt : report.preliminarySignedAt;
  if (signedAt) resource.issued = new Date(signedAt).toISOString();
  const effective = fhirDateTime(study.studyDate, study.studyTime);
  if (effective) resource.effectiveDateTime = effective;
  const interpreters = [
    final && report.finalSignerName ? { display: report.finalSignerName } : null,
    report.preliminarySignerName ? { display: report.preliminarySignerName } : null,
  ].filter((x) => x !== null);
  if (interpreters.length) resource.resultsInterpreter = interpreters;
  const text = [report.contentText ?? '', ...addenda.map((a) => `ADDENDUM (${a.finalSignerName ?? ''}): ${a.contentText ?? ''}`)]
    .filter((part) => part.trim() !== '')
    .join('\n\n');
  if (text) resource.conclusion = text;
  // The template's coded sections and filled coded fields (RadLex…), as signed.
  const concepts = codedConceptsOf(report, ...addenda);
  if (concepts.length) {
    resource.conclusionCode = concepts.map((c) => ({
      coding: [{ system: fhirSystemOf(c.code), code: c.code.value, display: c.code.meaning }],
      text: c.value === null ? c.text : `${c.text}: ${c.value}`,
    }));
  }
  if (critical.length) resource.contained = critical.map((result) => criticalCommunication(result, study));
  // The signed content no longer matches its signature: say so in the resource, never silently.
  if (unreliable) resource.meta = { security: [{ system: SYSTEMS.observationValue, code: 'UNRELIABLE', display: 'unreliable' }] };
  return resource;
}
