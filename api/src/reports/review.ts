/**
 * Review between resident and attending: the resident submits (preliminary signature), the
 * attending may send the report back with a comment. Each move is one transaction: report and
 * study locked, the transition checked against the state machine (shared/src/workflow.ts), no
 * finalize under way (isFinalizing) and the version the user saw; then the report moves, the study
 * follows and the change is audited with it. The sync-server is told afterwards, best effort: the
 * move is already committed.
 */
import { isFinalizing, isResidentsWork, type ReportEvent, reportDocumentName, reportTransition, type StudyEvent } from '@pacs/shared';
import type { FastifyBaseLogger } from 'fastify';
import type { Transaction } from 'sequelize';
import type { ReportAttributes, StudyAttributes } from '../db/models';
import type { Principal } from '../fastify-types';
import { conflict, forbidden } from '../http-errors';
import type { ReportStore } from './report-store';
import { refuseSubmitWithEmptyFields } from './required-fields';
import type { SyncClient } from './sync-client';
import type { VersionStore } from './versions';

export interface ReviewDeps {
  store: ReportStore;
  sync: Pick<SyncClient, 'readOnly' | 'unlock' | 'state'>;
  /** The report's versions: what the document held at this submit or return. */
  versions: Pick<VersionStore, 'record'>;
  /** A finalize claim younger than this stands (isFinalizing). */
  claimTtlMs: number;
  log: Pick<FastifyBaseLogger, 'error' | 'warn'>;
  /** Writes the move's audit row inside its transaction. */
  audit(transaction: Transaction, report: ReportAttributes, study: StudyAttributes, details: Record<string, unknown>): Promise<void>;
  /** Told the report and its study as soon as they are read, before anything can be refused. */
  onLoaded?(report: ReportAttributes, study: StudyAttributes): void;
  /** After a submit committed and the document turned read-only for the resident (preliminary results out). */
  onSubmitted?(report: ReportAttributes, study: StudyAttributes): Promise<void>;
}

type Reviewer = Pick<Principal, 'userId' | 'role' | 'name'>;

export interface Moved {
  row: ReportAttributes;
  study: StudyAttributes;
}

/** The resident's preliminary signature: draft/returned → preliminary, the study follows. */
export async function submitReport(
  deps: ReviewDeps,
  input: { reportId: string; principal: Reviewer; version: number | undefined },
): Promise<Moved> {
  const { principal } = input;
  await refuseSubmitWithEmptyFields(deps, input.reportId, principal);
  const moved = await move(deps, input.reportId, 'submit', principal, {
    addendumRefusal: 'addenda are finalized by an attending, not submitted',
    version: input.version,
    mayAct: (row, study) => {
      if (!isResidentsWork(principal.userId, { authorId: row.authorId, assigneeId: study.assigneeId }))
        throw forbidden('the report is neither yours nor on a study assigned to you', 'NOT_ASSIGNED');
    },
    changes: () => ({ preliminarySignerId: principal.userId, preliminarySignerName: principal.name, preliminarySignedAt: new Date() }),
    studyEvent: 'report-submitted',
  });
  // The report is the attending's now: the resident's open sockets stop editing at once (REVOKE-2).
  try {
    await deps.sync.readOnly(reportDocumentName(moved.row.id), [...new Set([principal.userId, moved.row.authorId])]);
  } catch (error) {
    deps.log.error({ err: error, reportId: moved.row.id }, 'document could not be made read-only after submit');
  }
  await keepVersion(deps, moved.row, 'submit', principal);
  try {
    await deps.onSubmitted?.(moved.row, moved.study);
  } catch (error) {
    // The submit stands; only the preliminary result is not sent.
    deps.log.error({ err: error, reportId: moved.row.id }, 'preliminary result not sent');
  }
  return moved;
}

/** The attending sends a preliminary report back to the resident with a comment. */
export async function returnReport(
  deps: ReviewDeps,
  input: { reportId: string; principal: Reviewer; comment: string; version: number | undefined },
): Promise<Moved> {
  const { principal } = input;
  const moved = await move(deps, input.reportId, 'return', principal, {
    addendumRefusal: 'addenda cannot be returned',
    version: input.version,
    changes: () => ({ returnComment: input.comment, returnedById: principal.userId, returnedAt: new Date() }),
    studyEvent: 'report-returned',
  });
  // The document is normally unlocked before final; this clears a lock left by a finalize
  // that crashed half-way (LOCK-7), so the resident can edit again.
  try {
    await deps.sync.unlock(reportDocumentName(moved.row.id));
  } catch (error) {
    deps.log.warn({ err: error, reportId: moved.row.id }, 'unlock after return failed');
  }
  await keepVersion(deps, moved.row, 'return', principal);
  return moved;
}

/**
 * The document as the move left it, kept as a version. After the submit the resident can no longer
 * change it, so this is their preliminary exactly; a failure is logged and the move stands.
 */
async function keepVersion(deps: ReviewDeps, row: ReportAttributes, event: 'submit' | 'return', author: Reviewer): Promise<void> {
  try {
    const state = await deps.sync.state(reportDocumentName(row.id));
    await deps.versions.record({ reportId: row.id, event, status: row.status, update: state.update, author });
  } catch (error) {
    deps.log.error({ err: error, reportId: row.id }, `the ${event} version could not be stored`);
  }
}

function move(
  deps: ReviewDeps,
  reportId: string,
  event: Extract<ReportEvent, 'submit' | 'return'>,
  principal: Reviewer,
  rules: {
    addendumRefusal: string;
    version: number | undefined;
    mayAct?: (row: ReportAttributes, study: StudyAttributes) => void;
    changes: () => Partial<ReportAttributes>;
    studyEvent: StudyEvent;
  },
): Promise<Moved> {
  const { store } = deps;
  return store.transaction(async (transaction) => {
    const report = await store.loadReport(reportId, transaction);
    const row = report.get();
    const study = await store.loadStudy(row.studyRef, transaction);
    deps.onLoaded?.(row, study.get());
    if (row.parentReportId) throw conflict(rules.addendumRefusal, 'TRANSITION_NOT_ALLOWED');
    const step = reportTransition(row.status, event, principal.role);
    if (!step.ok) {
      if (step.reason === 'not-allowed-for-role') throw forbidden(step.message, 'TRANSITION_FORBIDDEN');
      throw conflict(step.message, 'TRANSITION_NOT_ALLOWED');
    }
    const to = step.to;
    rules.mayAct?.(row, study.get());
    if (isFinalizing(row, deps.claimTtlMs)) throw conflict('the report is being finalized', 'FINALIZE_IN_PROGRESS');
    if (rules.version !== undefined && rules.version !== row.version)
      throw conflict('the report changed since you loaded it', 'STALE_VERSION');
    // `row` is the model's live values: read the old status before the update overwrites it.
    const from = row.status;
    await report.update({ status: to, ...rules.changes(), version: row.version + 1 }, { transaction });
    await store.followStudy(study, rules.studyEvent, transaction);
    await deps.audit(transaction, row, study.get(), { transition: event, from, to });
    return { row: report.get(), study: study.get() };
  });
}
