/**
 * Writes audit rows (DICOM PS3.15 A.5 fields). Rows are only ever inserted; the model and a
 * database trigger refuse updates and deletes.
 *
 * Rows outside a transaction are group-committed: every caller waits until its row is durable,
 * but rows that arrive while a write is in flight share the next INSERT. Under load that is one
 * commit (one fsync) per batch instead of one per request, with no timer and no added delay when
 * idle.
 */
import type { AuditAction, AuditEventId, AuditOutcome, Role } from '@pacs/shared';
import type { Transaction } from 'sequelize';
import type { AuditLogAttributes, Models } from '../db/models';

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

type AuditRowInput = Omit<AuditLogAttributes, 'id'>;
interface Pending {
  row: AuditRowInput;
  resolve(): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 500;

function toRow(entry: AuditEntryInput): AuditRowInput {
  return {
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
  };
}

export class AuditRecorder {
  private queue: Pending[] = [];
  private writing = false;

  constructor(private readonly models: Models) {}

  /** Resolves once the row is committed; inside `transaction` it commits with that transaction. */
  record(entry: AuditEntryInput, transaction?: Transaction): Promise<void> {
    if (transaction) {
      return this.models.AuditLog.create(toRow(entry), { transaction }).then(() => undefined);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row: toRow(entry), resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.models.AuditLog.bulkCreate(batch.map((p) => p.row));
          for (const pending of batch) pending.resolve();
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
