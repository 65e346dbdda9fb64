/**
 * Accepting a device's record of patient data viewed offline. Each device's chain head (last
 * number and hash accepted) is kept in `offline_audit_chains`; an upload must continue it. In one
 * transaction, under the head's row lock, an upload either
 * - writes one audit row per new entry (the device's time, flagged offline) and moves the head,
 * - or, when every entry was accepted before (same numbers and hashes), writes nothing,
 * - or, when the chain does not continue (gap, changed, reordered or inserted entry), writes only
 *   the break onto the head (the admin's alarm) and a Security Alert row; the device's uploads are
 *   refused until an admin acknowledges it, after which its next upload restarts the chain.
 */
import {
  type AuditAction,
  type AuditEventId,
  type ChainHead,
  GENESIS_HASH,
  type OfflineReadEntry,
  type OfflineReadEvent,
  verifyChain,
} from '@pacs/shared';
import { Op, type Transaction, UniqueConstraintError } from 'sequelize';
import type { Models } from '../../db/models';
import type { OfflineAuditChainAttributes } from '../../db/offline-audit-models';
import type { AuditEntryInput, AuditRecorder } from '../recorder';
import type { OfflineAuditConfig } from './settings';

/** The PS3.15 event each offline view is recorded as: the same as the online read of the same thing. */
const EVENT_OF: Readonly<Record<OfflineReadEvent, { eventId: AuditEventId; action: AuditAction; objectType: string }>> = {
  'worklist-open': { eventId: 'Query', action: 'R', objectType: 'Worklist' },
  'study-open': { eventId: 'PatientRecord', action: 'R', objectType: 'Study' },
  'series-view': { eventId: 'DICOMInstancesAccessed', action: 'R', objectType: 'Study' },
  'report-open': { eventId: 'PatientRecord', action: 'R', objectType: 'Report' },
  'report-pdf': { eventId: 'Export', action: 'R', objectType: 'Report' },
};

/** Who uploads, and the request the rows name. */
export interface Uploader {
  userId: string;
  role: string;
  networkAddress: string;
  requestId: string;
}

export type UploadOutcome =
  | { kind: 'accepted'; accepted: number; replayed: number; head: ChainHead }
  | { kind: 'broken'; reason: string }
  | { kind: 'awaiting-acknowledgement'; since: Date }
  | { kind: 'stale'; head: ChainHead }
  | { kind: 'bad-time'; reason: string };

type Continuation =
  | { kind: 'continues'; fresh: OfflineReadEntry[]; replayed: number }
  | { kind: 'broken'; reason: string }
  | { kind: 'stale' };

export class OfflineReadLedger {
  constructor(
    private readonly models: Models,
    private readonly recorder: AuditRecorder,
    private readonly config: OfflineAuditConfig,
    private readonly now: () => number = Date.now,
  ) {}

  async upload(deviceId: string, uploader: Uploader, entries: OfflineReadEntry[]): Promise<UploadOutcome> {
    await this.ensureHead(deviceId, uploader.userId);
    const sequelize = this.models.OfflineAuditChain.sequelize!;
    return sequelize.transaction(async (transaction) => {
      const head = await this.models.OfflineAuditChain.findByPk(deviceId, { transaction, lock: transaction.LOCK.UPDATE, raw: true });
      if (!head) throw new Error('offline audit chain head vanished');
      if (head.brokenAt) return { kind: 'awaiting-acknowledgement', since: new Date(head.brokenAt) };
      const continuation = await continuationOf(head, entries);
      if (continuation.kind === 'stale') return { kind: 'stale', head: { seq: head.lastSeq, hash: head.lastHash } };
      if (continuation.kind === 'broken') {
        await this.recordBreak(head, uploader, continuation.reason, transaction);
        return continuation;
      }
      const { fresh, replayed } = continuation;
      const timeProblem = this.timeProblemOf(fresh);
      if (timeProblem) return { kind: 'bad-time', reason: timeProblem };
      const last = fresh.at(-1);
      if (!last) return { kind: 'accepted', accepted: 0, replayed, head: { seq: head.lastSeq, hash: head.lastHash } };
      const rows = await this.auditRows(deviceId, uploader, fresh);
      // A restart (after an admin's acknowledgement, or a restore) may skip entries: say which.
      if (head.restartAllowed && fresh[0]!.seq !== head.lastSeq + 1) rows.unshift(this.gapRow(head, uploader, fresh[0]!.seq));
      await this.recorder.recordMany(rows, transaction);
      await this.models.OfflineAuditChain.update(
        { lastSeq: last.seq, lastHash: last.hash, restartAllowed: false },
        { where: { deviceId }, transaction },
      );
      return { kind: 'accepted', accepted: fresh.length, replayed, head: { seq: last.seq, hash: last.hash } };
    });
  }

  /**
   * Clears a device's alarm (in the caller's transaction) and lets its next upload restart the
   * chain wherever it is. Answers the cleared head, or null when there was no alarm.
   */
  async acknowledge(deviceId: string, transaction: Transaction): Promise<OfflineAuditChainAttributes | null> {
    const head = await this.models.OfflineAuditChain.findByPk(deviceId, { transaction, lock: transaction.LOCK.UPDATE, raw: true });
    if (!head?.brokenAt) return null;
    await this.models.OfflineAuditChain.update(
      { brokenAt: null, brokenReason: null, restartAllowed: true },
      { where: { deviceId, brokenAt: { [Op.ne]: null } }, transaction },
    );
    return head;
  }

  /** The head row, created at the start of the chain on a device's first upload (a lost race is fine). */
  private async ensureHead(deviceId: string, userId: string): Promise<void> {
    const { OfflineAuditChain } = this.models;
    if (await OfflineAuditChain.count({ where: { deviceId } })) return;
    try {
      await OfflineAuditChain.create({ deviceId, userId, lastSeq: 0, lastHash: GENESIS_HASH, updatedAt: new Date(this.now()) });
    } catch (error) {
      if (!(error instanceof UniqueConstraintError)) throw error;
    }
  }

  private timeProblemOf(entries: OfflineReadEntry[]): string | null {
    const now = this.now();
    for (const entry of entries) {
      const at = Date.parse(entry.at);
      if (at > now + this.config.maxFutureMs) return `entry ${entry.seq} is timed more than 5 minutes ahead of the server's clock`;
      if (at < now - this.config.maxAgeMs) return `entry ${entry.seq} is older than the ${this.config.maxAgeMs / 86_400_000} days accepted`;
    }
    return null;
  }

  private async recordBreak(
    head: OfflineAuditChainAttributes,
    uploader: Uploader,
    reason: string,
    transaction: Transaction,
  ): Promise<void> {
    const now = new Date(this.now());
    await this.models.OfflineAuditChain.update(
      { brokenAt: now, brokenReason: reason.slice(0, 200) },
      { where: { deviceId: head.deviceId }, transaction },
    );
    const row = this.deviceRow(head, uploader, { eventId: 'SecurityAlert', outcome: 8, at: now });
    await this.recorder.record(
      { ...row, details: { event: 'offline-audit-chain-broken', reason, acceptedUpTo: head.lastSeq } },
      transaction,
    );
  }

  /** A row about the device's record itself (not a view), by the uploading user's request. */
  private deviceRow(
    head: OfflineAuditChainAttributes,
    uploader: Uploader,
    event: Pick<AuditEntryInput, 'eventId' | 'outcome' | 'at'>,
  ): AuditEntryInput {
    return {
      ...event,
      action: 'E',
      userId: uploader.userId,
      userRole: uploader.role,
      networkAddress: uploader.networkAddress,
      requestId: uploader.requestId,
      objectType: 'Device',
      objectId: head.deviceId,
    };
  }

  /**
   * The entries a restarted record does not carry: removed before an admin acknowledged the break,
   * or uploaded between a backup and the restore from it. Not an alarm (the break had one, a
   * restore is the operator's act), but in the trail for the privacy officer.
   */
  private gapRow(head: OfflineAuditChainAttributes, uploader: Uploader, resumedAt: number): AuditEntryInput {
    const row = this.deviceRow(head, uploader, { eventId: 'ApplicationActivity', outcome: 0, at: new Date(this.now()) });
    return {
      ...row,
      details: {
        event: 'offline-audit-chain-resumed',
        acceptedUpTo: head.lastSeq,
        resumedAt,
        notInTrail: resumedAt > head.lastSeq + 1 ? [head.lastSeq + 1, resumedAt - 1] : [],
      },
    };
  }

  /** One row per view, with the patient and study looked up; an id the server does not know is kept as sent. */
  private async auditRows(deviceId: string, uploader: Uploader, entries: OfflineReadEntry[]): Promise<AuditEntryInput[]> {
    const subjects = await this.subjectsOf(entries);
    const receivedAt = new Date(this.now()).toISOString();
    return entries.map((entry) => {
      const spec = EVENT_OF[entry.event];
      const subject = subjects.of(entry);
      const details: Record<string, unknown> = {
        offline: true,
        event: 'offline-read',
        offlineEvent: entry.event,
        receivedAt,
        receivedFrom: uploader.networkAddress,
        deviceId,
        seq: entry.seq,
        hash: entry.hash,
      };
      if (entry.studyId) details.studyId = entry.studyId;
      if (entry.reportId) details.reportId = entry.reportId;
      if (entry.seriesInstanceUid) details.seriesInstanceUid = entry.seriesInstanceUid;
      if (subject.unknown.length > 0) details.unknown = subject.unknown;
      return {
        ...spec,
        outcome: 0,
        at: new Date(entry.at),
        userId: uploader.userId,
        userRole: uploader.role,
        // The view happened on the device, offline: no network address of its own.
        networkAddress: null,
        requestId: uploader.requestId,
        objectId: spec.objectType === 'Report' ? entry.reportId : entry.studyId,
        patientId: subject.patientId,
        studyUid: subject.studyUid,
        details,
      };
    });
  }

  private async subjectsOf(entries: OfflineReadEntry[]) {
    const studyIds = new Set(entries.flatMap((e) => (e.studyId ? [e.studyId] : [])));
    const reportIds = [...new Set(entries.flatMap((e) => (e.reportId ? [e.reportId] : [])))];
    // Deleted ones too: the view happened while they existed.
    const reports = reportIds.length
      ? await this.models.Report.findAll({ where: { id: reportIds }, attributes: ['id', 'studyRef'], paranoid: false, raw: true })
      : [];
    const studyOfReport = new Map(reports.map((r) => [r.id, r.studyRef]));
    for (const studyRef of studyOfReport.values()) studyIds.add(studyRef);
    const studies = studyIds.size
      ? await this.models.Study.findAll({
          where: { id: [...studyIds] },
          attributes: ['id', 'patientId', 'studyInstanceUid'],
          paranoid: false,
          raw: true,
        })
      : [];
    const studyById = new Map(studies.map((s) => [s.id, s]));
    return {
      of(entry: OfflineReadEntry) {
        const unknown: string[] = [];
        if (entry.reportId && !studyOfReport.has(entry.reportId)) unknown.push('report');
        const studyId = entry.studyId ?? (entry.reportId ? studyOfReport.get(entry.reportId) : undefined);
        const study = studyId ? studyById.get(studyId) : undefined;
        if (entry.studyId && !study) unknown.push('study');
        return { patientId: study?.patientId, studyUid: study?.studyInstanceUid, unknown };
      },
    };
  }
}

/**
 * How the entries relate to the head. Entries the server holds already may be sent again (a
 * lost answer): the batch is then checked on its own, and its entry at the head's number must be
 * the one accepted, which, the entries being chained, vouches for every earlier one it carries.
 */
async function continuationOf(head: OfflineAuditChainAttributes, entries: OfflineReadEntry[]): Promise<Continuation> {
  const first = entries[0]!;
  if (head.restartAllowed) {
    const problem = await verifyChain({ seq: first.seq - 1, hash: first.prevHash }, entries);
    return problem ? { kind: 'broken', reason: problem.message } : { kind: 'continues', fresh: entries, replayed: 0 };
  }
  if (first.seq > head.lastSeq) {
    const problem = await verifyChain({ seq: head.lastSeq, hash: head.lastHash }, entries);
    return problem ? { kind: 'broken', reason: problem.message } : { kind: 'continues', fresh: entries, replayed: 0 };
  }
  const problem = await verifyChain({ seq: first.seq - 1, hash: first.prevHash }, entries);
  if (problem) return { kind: 'broken', reason: problem.message };
  const atHead = entries.findIndex((entry) => entry.seq === head.lastSeq);
  if (atHead < 0) return { kind: 'stale' };
  if (entries[atHead]!.hash !== head.lastHash) {
    return { kind: 'broken', reason: `entry ${head.lastSeq} differs from the one accepted before` };
  }
  return { kind: 'continues', fresh: entries.slice(atHead + 1), replayed: atHead + 1 };
}
