/**
 * Study and report status as explicit state machines: pure data plus pure functions, so the API
 * enforces them, the web app greys out what is not allowed, and tests enumerate them.
 *
 * `system` is the API itself moving a status as a consequence of another transition (a study
 * follows its report); no user can trigger a system transition directly.
 */
import { can, type Role } from './permissions';

export type Actor = Role | 'system';

export interface Transition<S extends string, E extends string> {
  readonly from: S;
  readonly event: E;
  readonly to: S;
  readonly actors: readonly Actor[];
}

export type TransitionResult<S extends string> =
  | { readonly ok: true; readonly to: S }
  | { readonly ok: false; readonly reason: 'not-allowed-from-state' | 'not-allowed-for-role'; readonly message: string };

function transitionIn<S extends string, E extends string>(
  table: readonly Transition<S, E>[],
  from: S,
  event: E,
  actor: Actor,
): TransitionResult<S> {
  const candidates = table.filter((t) => t.from === from && t.event === event);
  if (candidates.length === 0) {
    return { ok: false, reason: 'not-allowed-from-state', message: `'${event}' is not possible from '${from}'` };
  }
  const allowed = candidates.find((t) => t.actors.includes(actor));
  if (!allowed) {
    return { ok: false, reason: 'not-allowed-for-role', message: `'${event}' from '${from}' is not allowed for ${actor}` };
  }
  return { ok: true, to: allowed.to };
}

// ---------------------------------------------------------------- study status (worklist)

/** `scheduled`: ordered, no image yet (orders.ts); it becomes `unread` when its images arrive. */
export const STUDY_STATUSES = ['scheduled', 'unread', 'in_progress', 'preliminary', 'final'] as const;
export type StudyStatus = (typeof STUDY_STATUSES)[number];

export const STUDY_PRIORITIES = ['stat', 'urgent', 'routine'] as const;
export type StudyPriority = (typeof STUDY_PRIORITIES)[number];

/** Sort rank: STAT first. Stored beside the priority so the worklist index can order by it. */
export const PRIORITY_RANK: Readonly<Record<StudyPriority, number>> = { stat: 0, urgent: 1, routine: 2 };

export type StudyEvent = 'images-arrived' | 'start-reading' | 'release' | 'report-submitted' | 'report-returned' | 'report-finalized';

export const STUDY_TRANSITIONS: readonly Transition<StudyStatus, StudyEvent>[] = [
  { from: 'scheduled', event: 'images-arrived', to: 'unread', actors: ['system'] },
  { from: 'unread', event: 'start-reading', to: 'in_progress', actors: ['attending', 'resident', 'system'] },
  { from: 'in_progress', event: 'release', to: 'unread', actors: ['attending', 'resident', 'technologist'] },
  { from: 'unread', event: 'report-submitted', to: 'preliminary', actors: ['system'] },
  { from: 'in_progress', event: 'report-submitted', to: 'preliminary', actors: ['system'] },
  { from: 'preliminary', event: 'report-returned', to: 'in_progress', actors: ['system'] },
  { from: 'unread', event: 'report-finalized', to: 'final', actors: ['system'] },
  { from: 'in_progress', event: 'report-finalized', to: 'final', actors: ['system'] },
  { from: 'preliminary', event: 'report-finalized', to: 'final', actors: ['system'] },
];

export function studyTransition(from: StudyStatus, event: StudyEvent, actor: Actor): TransitionResult<StudyStatus> {
  return transitionIn(STUDY_TRANSITIONS, from, event, actor);
}

/** The event a user asks for when they set a study's status directly (PATCH status). */
export function studyEventForTarget(
  from: StudyStatus,
  to: StudyStatus,
  actor: Actor,
): TransitionResult<StudyStatus> & { event?: StudyEvent } {
  const match = STUDY_TRANSITIONS.find((t) => t.from === from && t.to === to && t.actors.includes(actor));
  if (match) return { ok: true, to, event: match.event };
  const anyActor = STUDY_TRANSITIONS.find((t) => t.from === from && t.to === to);
  if (anyActor) {
    return { ok: false, reason: 'not-allowed-for-role', message: `status '${from}' → '${to}' is not allowed for ${actor}` };
  }
  return { ok: false, reason: 'not-allowed-from-state', message: `status '${from}' → '${to}' is not a valid transition` };
}

// ---------------------------------------------------------------- report status

export const REPORT_STATUSES = ['draft', 'preliminary', 'returned', 'final', 'addended'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

export type ReportEvent = 'submit' | 'return' | 'finalize' | 'addendum-finalized';

/**
 * draft → preliminary (resident's preliminary signature) → final (attending's signature);
 * preliminary → returned (attending sends back with a comment) → preliminary again;
 * an attending may finalize a draft or a returned report they wrote themselves;
 * final → addended once an addendum is signed. Addenda use draft → final only.
 */
export const REPORT_TRANSITIONS: readonly Transition<ReportStatus, ReportEvent>[] = [
  { from: 'draft', event: 'submit', to: 'preliminary', actors: ['resident'] },
  { from: 'returned', event: 'submit', to: 'preliminary', actors: ['resident'] },
  { from: 'preliminary', event: 'return', to: 'returned', actors: ['attending'] },
  { from: 'draft', event: 'finalize', to: 'final', actors: ['attending'] },
  { from: 'returned', event: 'finalize', to: 'final', actors: ['attending'] },
  { from: 'preliminary', event: 'finalize', to: 'final', actors: ['attending'] },
  { from: 'final', event: 'addendum-finalized', to: 'addended', actors: ['system'] },
  { from: 'addended', event: 'addendum-finalized', to: 'addended', actors: ['system'] },
];

export function reportTransition(from: ReportStatus, event: ReportEvent, actor: Actor): TransitionResult<ReportStatus> {
  return transitionIn(REPORT_TRANSITIONS, from, event, actor);
}

/** A study still to be read or signed: on someone's list, kept offline, announced when STAT. */
export function isStudyOpen(status: StudyStatus): boolean {
  return status !== 'final' && status !== 'scheduled';
}

/** Content of a report in these states can never change again. */
export function isReportLocked(status: ReportStatus): boolean {
  return status === 'final' || status === 'addended';
}

// ---------------------------------------------------------------- the finalize claim

/**
 * Finalize claims a report before it locks the report's document, and clears the claim when it
 * stores the signature or gives up. While the claim stands the report is finalizing: submit,
 * return and a second finalize are refused, and document sessions open read-only
 * (documentModeFor). A claim older than its time to live was left by a crashed finalize and no
 * longer stands, so another finalize may take it over.
 */
export interface FinalizeClaimFacts {
  /** When a finalize claimed the report; null: not claimed. */
  readonly finalizingAt: Date | string | null;
}

/** The report is finalizing: a claim stands, younger than `claimTtlMs`. */
export function isFinalizing(report: FinalizeClaimFacts, claimTtlMs: number, now: number = Date.now()): boolean {
  return report.finalizingAt !== null && now - new Date(report.finalizingAt).getTime() < claimTtlMs;
}

// ---------------------------------------------------------------- who works on a report

/** Whom a rule is asked about: the signed-in user. */
export interface WorkflowUser {
  readonly role: Role;
  readonly userId: string;
}

/**
 * A resident's own work: a report they wrote or a study assigned to them, and never a study
 * assigned to someone else (an attending who takes a study over takes the draft with it).
 */
export function isResidentsWork(userId: string, report: { readonly authorId: string | null; readonly assigneeId: string | null }): boolean {
  const assignedToOther = report.assigneeId !== null && report.assigneeId !== userId;
  return !assignedToOther && (report.authorId === userId || report.assigneeId === userId);
}

/** What decides a report document's mode: the report, its study's assignee, a finalize in progress. */
export interface ReportDocumentFacts {
  readonly status: ReportStatus;
  readonly authorId: string | null;
  /** The study's assignee. */
  readonly assigneeId: string | null;
  /** An addendum (always written by an attending, draft → final). */
  readonly isAddendum: boolean;
  /** The report is finalizing (isFinalizing): a finalize has claimed it and is locking the document. */
  readonly finalizing: boolean;
}

/**
 * The one rule for the document session a user may open (`rw` edits, `ro` reads, null: none).
 * Without `report:read` nothing; signed, finalizing or without `report:edit` read-only. Attendings
 * (`report:finalize`) edit any open report and (`report:addendum`) any open addendum. Residents
 * (`report:submit`) edit only their own work (isResidentsWork) while it is theirs to change
 * (draft or returned): once submitted it belongs to the attending.
 */
export function documentModeFor(user: WorkflowUser, report: ReportDocumentFacts): 'rw' | 'ro' | null {
  if (!can(user.role, 'report:read')) return null;
  if (!can(user.role, 'report:edit') || isReportLocked(report.status) || report.finalizing) return 'ro';
  if (report.isAddendum) return can(user.role, 'report:addendum') ? 'rw' : 'ro';
  if (can(user.role, 'report:finalize')) return 'rw';
  if (can(user.role, 'report:submit')) {
    const residentsTurn = report.status === 'draft' || report.status === 'returned';
    return residentsTurn && isResidentsWork(user.userId, report) ? 'rw' : 'ro';
  }
  return 'ro';
}

// ---------------------------------------------------------------- study assignment

export type AssignmentResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

/**
 * Who may set a study's assignee from `from` to `to` (null = nobody). `study:assign` is needed;
 * residents only take an unassigned study for themselves and only give back their own: they never
 * take a study from someone else, nor hand one to anyone.
 */
export function assignmentAllowed(user: WorkflowUser, from: string | null, to: string | null): AssignmentResult {
  if (!can(user.role, 'study:assign')) return { ok: false, message: `role '${user.role}' may not assign studies` };
  if (from === to || user.role !== 'resident') return { ok: true };
  if (from === null && to === user.userId) return { ok: true };
  if (from === user.userId && to === null) return { ok: true };
  if (from !== null && from !== user.userId) return { ok: false, message: 'the study is assigned to someone else' };
  return { ok: false, message: 'residents assign studies only to themselves' };
}
