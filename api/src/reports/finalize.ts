/**
 * Finalize: the attending signs what they saw. All or nothing, in named steps, because the
 * sync-server writes to the same database (on SQLite a transaction held across its lock call would
 * block it):
 *  1. claim: plain reads, the transition checked, then one conditional UPDATE stores the claim
 *     (finalizingBy/At, version + 1). A second finalize, submit or return while the claim stands
 *     is refused: two attendings signing at once give one signature and one refusal.
 *  2. lock at the reviewed state: the sync-server locks the document with the state vector (and
 *     snapshot) the signer saw (LOCK-1); its 409 becomes ours with nothing locked.
 *  3. store signed: one transaction stores content, hash, signer and time, moves report and study
 *     (or the original of an addendum) and writes the audit row.
 *  4. compensate: whenever a later step fails, the document is unlocked again (LOCK-7) and the
 *     claim released, so nothing stays half-final.
 * A claim older than the claim TTL (a crashed API) may be taken over; the document may then already
 * be locked (LOCK-8), which is accepted only when the locked state holds nothing the signer has not
 * seen.
 *
 * Expected outcomes (refusals, conflicts, a sync-server that is down) come back as a result the
 * route maps to HTTP; only unexpected failures (the database) are thrown, after compensation.
 */
import {
  isFinalizing,
  isReportLocked,
  type ReportStatus,
  reportDocumentName,
  reportTransition,
  type SyncLockResponse,
  type TransitionResult,
} from '@pacs/shared';
import type { FastifyBaseLogger } from 'fastify';
import type { Transaction } from 'sequelize';
import type { ReportAttributes, StudyAttributes } from '../db/models';
import type { Principal } from '../fastify-types';
import { contentFromUpdate, coversLockedState, type SignedContent, unb64 } from './content';
import type { FinalizeClaim, ReportStore } from './report-store';
import { type RequiredFieldsRefusal, requiredFieldsRefusal } from './required-fields';
import type { SigningKeyring } from './signature/signing-keys';
import { signLockedState } from './signing';
import { type SyncClient, SyncServerError } from './sync-client';
import type { VersionStore } from './versions';

export interface FinalizeDeps {
  store: ReportStore;
  sync: Pick<SyncClient, 'lock' | 'unlock'>;
  /** A claim older than this belongs to a crashed API and may be taken over. */
  claimTtlMs: number;
  log: Pick<FastifyBaseLogger, 'error'>;
  /** The installation's keys: the current one signs. */
  keyring: SigningKeyring;
  /** Where the signed document is kept as the report's final version (in the signing transaction). */
  versions: Pick<VersionStore, 'record'>;
  /** Writes the finalize's audit row inside its transaction (it commits with the signature). */
  audit(transaction: Transaction, report: ReportAttributes, study: StudyAttributes, details: Record<string, unknown>): Promise<void>;
  /** Told the report and its study as soon as they are read, before anything can be refused. */
  onLoaded?(report: ReportAttributes, study: StudyAttributes): void;
  /** Inside the signing transaction, once signed (the results outbox writes the ORU here). */
  onSigned?(
    transaction: Transaction,
    signed: { report: ReportAttributes; study: StudyAttributes; original?: ReportAttributes },
  ): Promise<void>;
}

export interface FinalizeInput {
  reportId: string;
  principal: Pick<Principal, 'userId' | 'role' | 'name'>;
  /** Base64 Yjs state vector of what the signer reviewed. */
  stateVector: string;
  /** Base64 Yjs snapshot of it: deletions the signer saw. */
  snapshot?: string | undefined;
}

/** Why a finalize did not happen; `message` is for the signer. */
export type FinalizeRefusal =
  | { outcome: 'not-found'; message: string }
  /** The state machine refuses the transition (for this role, or from this state). */
  | { outcome: 'transition-refused'; reason: 'not-allowed-for-role' | 'not-allowed-from-state'; message: string }
  /** Another finalize holds the claim, or won the race for it. */
  | { outcome: 'finalize-in-progress'; message: string }
  /** The claim was lost while the document was being locked. */
  | { outcome: 'stale'; message: string }
  /** The document holds edits the signer has not seen; nothing is locked. */
  | { outcome: 'unseen-updates'; message: string; stateVector?: string }
  /** stateVector or snapshot is not a valid Yjs encoding. */
  | { outcome: 'bad-state'; message: string }
  /** Required fill-in fields of the locked state are empty; nothing stays locked. */
  | RequiredFieldsRefusal
  /** The sync-server is not configured, down or slow. */
  | { outcome: 'sync-failed'; cause: unknown };

export type FinalizeResult = { outcome: 'finalized'; report: ReportAttributes; study: StudyAttributes } | FinalizeRefusal;

/** Long enough that a live finalize (at most a few sync-server deadlines) never loses its claim. */
export const claimTtlFor = (syncTimeoutMs: number) => Math.max(60_000, 3 * syncTimeoutMs);

const BAD_STATE: FinalizeRefusal = { outcome: 'bad-state', message: 'stateVector or snapshot is not a valid Yjs encoding' };

const refusalOf = (step: Extract<TransitionResult<ReportStatus>, { ok: false }>): FinalizeRefusal => ({
  outcome: 'transition-refused',
  reason: step.reason,
  message: step.message,
});

export async function finalizeReport(deps: FinalizeDeps, input: FinalizeInput): Promise<FinalizeResult> {
  const claimed = await claim(deps, input);
  if ('refusal' in claimed) return claimed.refusal;
  const locked = await lockAtReviewedState(deps, claimed.claim, input);
  if ('refusal' in locked) {
    await releaseClaim(deps, claimed.claim);
    return locked.refusal;
  }
  // The locked state is read once, for the required fields, the signature and the final version.
  const content = contentFromUpdate(unb64(locked.lock.update));
  const emptyFields = await requiredFieldsRefusal(deps.store, claimed.claim.reportId, content.doc);
  if (emptyFields) {
    await compensate(deps, claimed.claim, locked.lock);
    return emptyFields;
  }
  try {
    const result = await storeSigned(deps, claimed.claim, locked.lock, input.principal, content);
    if (result.outcome !== 'finalized') await compensate(deps, claimed.claim, locked.lock);
    return result;
  } catch (error) {
    await compensate(deps, claimed.claim, locked.lock);
    throw error;
  }
}

/** Step 1: plain reads and checks, then the conditional UPDATE that only one claimant wins. */
async function claim(deps: FinalizeDeps, input: FinalizeInput): Promise<{ claim: FinalizeClaim } | { refusal: FinalizeRefusal }> {
  const report = await deps.store.findReport(input.reportId);
  if (!report) return { refusal: { outcome: 'not-found', message: 'report not found' } };
  const row = report.get();
  const study = await deps.store.findStudy(row.studyRef);
  if (!study) return { refusal: { outcome: 'not-found', message: 'study not found' } };
  deps.onLoaded?.(row, study.get());
  const step = reportTransition(row.status, 'finalize', input.principal.role);
  if (!step.ok) return { refusal: refusalOf(step) };
  if (row.parentReportId) {
    const parent = await deps.store.findReport(row.parentReportId);
    if (!parent || !isReportLocked(parent.get('status'))) {
      return { refusal: { outcome: 'transition-refused', reason: 'not-allowed-from-state', message: 'the original report is not final' } };
    }
  }
  if (isFinalizing(row, deps.claimTtlMs)) return { refusal: { outcome: 'finalize-in-progress', message: 'the report is being finalized' } };
  const held = await deps.store.claimFinalize(row, input.principal.userId);
  if (!held) return { refusal: { outcome: 'finalize-in-progress', message: 'the report changed while you were signing it' } };
  return { claim: held };
}

/** Step 2: LOCK-1 at the state the signer saw; an existing lock (LOCK-8) must hold nothing unseen. */
async function lockAtReviewedState(
  deps: FinalizeDeps,
  held: FinalizeClaim,
  input: FinalizeInput,
): Promise<{ lock: SyncLockResponse } | { refusal: FinalizeRefusal }> {
  const { stateVector, snapshot } = input;
  let lock: SyncLockResponse;
  try {
    lock = await deps.sync.lock(reportDocumentName(held.reportId), {
      stateVector,
      ...(snapshot ? { snapshot } : {}),
      lockedBy: input.principal.userId,
    });
  } catch (error) {
    if (error instanceof SyncServerError && error.status === 409) {
      const serverVector = typeof error.body.stateVector === 'string' ? error.body.stateVector : undefined;
      return {
        refusal: {
          outcome: 'unseen-updates',
          message: 'the document holds edits you have not seen; review them and sign again',
          ...(serverVector ? { stateVector: serverVector } : {}),
        },
      };
    }
    if (error instanceof SyncServerError && error.status === 400) return { refusal: BAD_STATE };
    return { refusal: { outcome: 'sync-failed', cause: error } };
  }
  if (!lock.alreadyLocked) return { lock };
  let covered: boolean;
  try {
    covered = coversLockedState(unb64(lock.update), unb64(stateVector), snapshot ? unb64(snapshot) : undefined);
  } catch {
    return { refusal: BAD_STATE };
  }
  if (!covered) {
    return {
      refusal: {
        outcome: 'unseen-updates',
        message: 'the document was locked at a state you have not seen',
        stateVector: lock.stateVector,
      },
    };
  }
  return { lock };
}

/** Thrown inside the store transaction to roll it back with a refusal, never past storeSigned. */
class Refused extends Error {
  constructor(readonly refusal: FinalizeRefusal) {
    super(refusal.outcome);
  }
}

/** Step 3: signature, report, study (or the addendum's original) and audit row in one transaction. */
async function storeSigned(
  deps: FinalizeDeps,
  held: FinalizeClaim,
  lock: SyncLockResponse,
  principal: FinalizeInput['principal'],
  content: SignedContent,
): Promise<FinalizeResult> {
  const signed = signLockedState(held.reportId, lock, principal, deps.keyring, content);
  try {
    return await deps.store.transaction(async (transaction) => {
      const report = await deps.store.loadReport(held.reportId, transaction);
      const row = report.get();
      if (row.finalizingBy !== principal.userId || row.version !== held.version) {
        throw new Refused({ outcome: 'stale', message: 'the report changed while it was being finalized' });
      }
      const step = reportTransition(row.status, 'finalize', principal.role);
      if (!step.ok) throw new Refused(refusalOf(step));
      const to = step.to;
      const study = await deps.store.loadStudy(row.studyRef, transaction);
      // `row` is the model's live values: read the old status before the update overwrites it.
      const from = row.status;
      await report.update({ status: to, ...signed, finalizingBy: null, finalizingAt: null, version: row.version + 1 }, { transaction });
      await deps.versions.record(
        { reportId: held.reportId, event: 'finalize', status: to, update: lock.update, author: principal, content },
        transaction,
      );
      await deps.audit(transaction, row, study.get(), {
        transition: 'finalize',
        from,
        to,
        hash: signed.contentHash,
        addendum: row.parentReportId !== null,
      });
      if (row.parentReportId) {
        const parent = await deps.store.loadReport(row.parentReportId, transaction);
        const followed = reportTransition(parent.get('status'), 'addendum-finalized', 'system');
        if (!followed.ok) throw new Refused(refusalOf(followed));
        await parent.update({ status: followed.to, version: parent.get('version') + 1 }, { transaction });
        await deps.onSigned?.(transaction, { report: report.get(), study: study.get(), original: parent.get() });
      } else {
        await deps.onSigned?.(transaction, { report: report.get(), study: study.get() });
        // Last: it takes the worklist counter's lock, which every other writer waits for until COMMIT.
        await deps.store.followStudy(study, 'report-finalized', transaction);
      }
      return { outcome: 'finalized' as const, report: report.get(), study: study.get() };
    });
  } catch (error) {
    if (error instanceof Refused) return error.refusal;
    throw error;
  }
}

/** Step 4: nothing is final, so the document must not stay locked, nor the report claimed. */
async function compensate(deps: FinalizeDeps, held: FinalizeClaim, lock: SyncLockResponse): Promise<void> {
  // A lock that was there before this finalize is not ours to lift.
  if (!lock.alreadyLocked) {
    try {
      await deps.sync.unlock(reportDocumentName(held.reportId));
    } catch (unlockError) {
      deps.log.error(
        { err: unlockError, reportId: held.reportId },
        'finalize failed and the unlock failed too: the document stays locked until the report is returned or finalized',
      );
    }
  }
  await releaseClaim(deps, held);
}

async function releaseClaim(deps: FinalizeDeps, held: FinalizeClaim): Promise<void> {
  try {
    await deps.store.releaseClaim(held);
  } catch (error) {
    deps.log.error({ err: error, reportId: held.reportId }, 'could not release the finalize claim (expires by itself)');
  }
}
