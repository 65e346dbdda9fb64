/**
 * What the reporting routes write to the audit trail: the subject of each request (report,
 * patient, study), the row of each change (inside the change's transaction, so it commits or rolls
 * back with it) and the alarm when signed content no longer matches its hash.
 */
import type { AuditAction, ReportIntegrity } from '@pacs/shared';
import type { FastifyRequest } from 'fastify';
import type { Transaction } from 'sequelize';
import { auditInTransaction } from '../audit/recorder';
import type { ReportAttributes, StudyAttributes } from '../db/models';
import type { RouteAudit } from '../fastify-types';
import { integrityOf } from './signing';

type StudyOfReport = Pick<StudyAttributes, 'patientId' | 'studyInstanceUid'>;

/** The route's declared audit event for a report; `phi` reads are withheld if it cannot be written. */
export const reportAudit = (action: 'C' | 'R' | 'U', phi = false): RouteAudit => ({
  eventId: 'PatientRecord',
  action,
  objectType: 'Report',
  ...(phi ? { phi: true } : {}),
});

/** The request's audit row is about this report of this patient's study. */
export function setReportSubject(request: FastifyRequest, report: Pick<ReportAttributes, 'id'>, study: StudyOfReport): void {
  request.auditSubject = { objectType: 'Report', objectId: report.id, patientId: study.patientId, studyUid: study.studyInstanceUid };
}

/** The audit row of a report change, written in the change's transaction. */
export function recordReportChange(
  request: FastifyRequest,
  transaction: Transaction,
  action: Extract<AuditAction, 'C' | 'U'>,
  report: Pick<ReportAttributes, 'id'>,
  study: StudyOfReport,
  details: Record<string, unknown>,
): Promise<void> {
  return auditInTransaction(request, transaction, {
    eventId: 'PatientRecord',
    action,
    objectType: 'Report',
    objectId: report.id,
    patientId: study.patientId,
    studyUid: study.studyInstanceUid,
    details,
  });
}

/**
 * Verifies the signed hash and the installation's signature of it; a mismatch is an alarm (audit
 * outcome 12 + error log), never fixed.
 */
export async function checkIntegrity(request: FastifyRequest, row: ReportAttributes, study: StudyOfReport): Promise<ReportIntegrity> {
  const integrity = integrityOf(row, request.server.reportKeys);
  if (integrity.verified === false) {
    const reason = integrity.signature?.status === 'valid' ? 'report content hash mismatch' : 'report signature does not verify';
    request.log.error({ reportId: row.id, keyId: integrity.signature?.keyId }, `${reason}: signed content was altered`);
    await request.server.audit.record({
      eventId: 'SecurityAlert',
      action: 'R',
      outcome: 12,
      userId: request.principal?.userId ?? null,
      userRole: request.principal?.role ?? null,
      networkAddress: request.ip,
      requestId: request.id,
      objectType: 'Report',
      objectId: row.id,
      patientId: study.patientId,
      studyUid: study.studyInstanceUid,
      details: { reason, route: request.routeOptions.url },
    });
  }
  return integrity;
}
