/**
 * Audit vocabulary after DICOM PS3.15 Annex A.5 (audit trail message format): the event id,
 * the action code and the outcome indicator, kept in our own rows and exportable to RFC 3881/DICOM
 * audit messages.
 */
export const AUDIT_EVENT_IDS = [
  /** DCM 110114: login, logout, failed login, token refresh. */
  'UserAuthentication',
  /** DCM 110110: create, read, update of patient/study records (worklist, reports). */
  'PatientRecord',
  /** DCM 110109: orders received from the hospital (HL7 ORM, OMI) and their changes. */
  'OrderRecord',
  /** DCM 110112: queries over patient data (worklist lists, audit search). */
  'Query',
  /** DCM 110103: access to DICOM instances (viewer, DICOMweb). */
  'DICOMInstancesAccessed',
  /** DCM 110107: studies imported from Orthanc. */
  'Import',
  /** DCM 110106: export of patient data (PDF, CSV). */
  'Export',
  /** DCM 110113: denied requests, refresh-token reuse, user and permission changes. */
  'SecurityAlert',
  /** DCM 110100: application start, stop, reconcile runs. */
  'ApplicationActivity',
] as const;
export type AuditEventId = (typeof AUDIT_EVENT_IDS)[number];

/** C create, R read, U update, D delete, E execute. */
export const AUDIT_ACTIONS = ['C', 'R', 'U', 'D', 'E'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** 0 success, 4 minor failure (e.g. denied, bad input), 8 serious failure, 12 major failure. */
export const AUDIT_OUTCOMES = [0, 4, 8, 12] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export function outcomeForStatus(statusCode: number): AuditOutcome {
  if (statusCode < 400) return 0;
  if (statusCode < 500) return 4;
  return 8;
}
