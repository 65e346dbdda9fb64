/**
 * Study and report status as explicit state machines: pure data plus pure functions, so the API
 * enforces them, the web app greys out what is not allowed, and tests enumerate them.
 *
 * `system` is the API itself moving a status as a consequence of another transition (a study
 * follows its report); no user can trigger a system transition directly.
 */
import type { Role } from './permissions';

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

export const STUDY_STATUSES = ['unread', 'in_progress', 'preliminary', 'final'] as const;
export type StudyStatus = (typeof STUDY_STATUSES)[number];

export const STUDY_PRIORITIES = ['stat', 'urgent', 'routine'] as const;
export type StudyPriority = (typeof STUDY_PRIORITIES)[number];

/** Sort rank: STAT first. Stored beside the priority so the worklist index can order by it. */
export const PRIORITY_RANK: Readonly<Record<StudyPriority, number>> = { stat: 0, urgent: 1, routine: 2 };

export type StudyEvent = 'start-reading' | 'release' | 'report-submitted' | 'report-returned' | 'report-finalized';

export const STUDY_TRANSITIONS: readonly Transition<StudyStatus, StudyEvent>[] = [
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

/** Content of a report in these states can never change again. */
export function isReportLocked(status: ReportStatus): boolean {
  return status === 'final' || status === 'addended';
}
