/**
 * Writes audit rows (DICOM PS3.15 A.5 fields). Rows are only ever inserted; the model and a
 * database trigger refuse updates and deletes.
 *
 * Rows outside a transaction are group-committed: every caller waits until its row is durable,
 * but rows that arrive while a write is in flight share the next INSERT. Under load that is one
 * commit (one fsync) per batch instead of one per request, with no timer and no added delay when
 * idle.
 *
 * A request's row is built here too (`auditEntryFor`), so routes that write theirs inside their
 * transaction (`auditInTransaction`) depend on the audit module, not on the audit-trail plugin.
 */
import { type AuditAction, type AuditEventId, type AuditOutcome, outcomeForStatus, type Role } from '@pacs/shared';
import type { FastifyRequest } from 'fastify';
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

  /** Several rows in one INSERT, committed with `transaction`. */
  async recordMany(entries: AuditEntryInput[], transaction: Transaction): Promise<void> {
    if (entries.length > 0) await this.models.AuditLog.bulkCreate(entries.map(toRow), { transaction });
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

// ---------------------------------------------------------------- rows of requests

const ACTION_BY_METHOD: Record<string, AuditAction> = { GET: 'R', HEAD: 'R', POST: 'C', PUT: 'U', PATCH: 'U', DELETE: 'D' };

/**
 * The audit row of a request, from what it is (method, route, status, principal, address) and what
 * the route learnt (`request.auditSubject`); `spec` is the route's declared audit event.
 */
export function auditEntryFor(
  request: FastifyRequest,
  statusCode: number,
  spec: Pick<AuditEntryInput, 'eventId' | 'action' | 'objectType'> | undefined,
): AuditEntryInput {
  const denied = statusCode === 401 || statusCode === 403;
  const subject = request.auditSubject ?? {};
  const details: Record<string, unknown> = { method: request.method, route: request.routeOptions.url, status: statusCode };
  if (request.failureReason) details.reason = request.failureReason;
  if (request.emergencyAccess?.length) details.emergencyAccess = request.emergencyAccess;
  return {
    eventId: denied && !spec ? 'SecurityAlert' : (spec?.eventId ?? 'ApplicationActivity'),
    action: spec?.action ?? ACTION_BY_METHOD[request.method] ?? 'E',
    outcome: outcomeForStatus(statusCode),
    userId: request.principal?.userId ?? null,
    userRole: request.principal?.role ?? null,
    networkAddress: request.ip,
    requestId: request.id,
    objectType: subject.objectType ?? spec?.objectType,
    objectId: subject.objectId,
    patientId: subject.patientId,
    studyUid: subject.studyUid,
    details: { ...details, ...subject.details },
  };
}

/** For mutations: the audit row commits or rolls back with the change it describes. */
export async function auditInTransaction(
  request: FastifyRequest,
  transaction: Transaction,
  entry: Partial<AuditEntryInput> & Pick<AuditEntryInput, 'eventId' | 'action'>,
): Promise<void> {
  const base = auditEntryFor(request, 200, undefined);
  await request.server.audit.record({ ...base, ...entry, details: { ...base.details, ...entry.details } }, transaction);
  transaction.afterCommit(() => {
    request.auditRecorded = true;
  });
}
