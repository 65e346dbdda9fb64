/**
 * Writes audit rows (DICOM PS3.15 A.5 fields). Rows are only ever inserted; the model and a
 * database trigger refuse updates and deletes.
 */
import type { AuditAction, AuditEventId, AuditOutcome, Role } from '@pacs/shared';
import type { Transaction } from 'sequelize';
import type { Models } from '../db/models';

export interface AuditSubject {
  objectType?: string;
  objectId?: string;
  patientId?: string;
  studyUid?: string;
  details?: Record<string, unknown>;
}

export interface AuditEntryInput extends AuditSubject {
  eventId: AuditEventId;
  action: AuditAction;
  outcome: AuditOutcome;
  userId?: string | null;
  userRole?: Role | string | null;
  networkAddress?: string | null;
  requestId?: string | null;
  at?: Date;
}

export class AuditRecorder {
  constructor(private readonly models: Models) {}

  async record(entry: AuditEntryInput, transaction?: Transaction): Promise<void> {
    await this.models.AuditLog.create(
      {
        eventId: entry.eventId,
        action: entry.action,
        outcome: entry.outcome,
        eventDateTime: entry.at ?? new Date(),
        userId: entry.userId ?? null,
        userRole: entry.userRole ?? null,
        networkAddress: entry.networkAddress ?? null,
        objectType: entry.objectType ?? null,
        objectId: entry.objectId ?? null,
        patientId: entry.patientId ?? null,
        studyUid: entry.studyUid ?? null,
        requestId: entry.requestId ?? null,
        details: entry.details && Object.keys(entry.details).length > 0 ? JSON.stringify(entry.details) : null,
      },
      { transaction },
    );
  }
}
