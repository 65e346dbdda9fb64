/**
 * What a device holds of the worklist, per role: the minimum a user needs at hand (and offline),
 * not every patient in the hospital. The server decides membership (api/src/worklist/device-scope.ts);
 * each row it sends carries its reasons, and the client drops rows whose reasons aged out with
 * `pruneDeviceRows` (time passes without any change the feed could report).
 *
 * - assigned: studies assigned to the user in an open status (radiologists only; nobody else is an assignee)
 * - followed: studies the user follows (`PUT /api/studies/:id/follow`)
 * - recent:   studies whose details the user opened in the last `recentDays` days
 * - window:   studies received in the last `window.hours` hours in one of `window.statuses`, of the
 *             user's modalities (their setting; null: all)
 * - prior:    up to `priorsPerStudy` studies of the same patient received before one of the above
 *             (never for a row this user sees masked: that would name its patient)
 */
import type { Role } from './permissions';
import type { StudyStatus } from './workflow';

export const SCOPE_REASONS = ['assigned', 'followed', 'recent', 'window', 'prior'] as const;
export type ScopeReason = (typeof SCOPE_REASONS)[number];
/** The reasons a study is on a device for itself; `prior` rows are there for one of these. */
export type AnchorReason = Exclude<ScopeReason, 'prior'>;

export interface DeviceScope {
  /** Statuses in which a study assigned to the user is on the device; empty: none. */
  assigned: readonly StudyStatus[];
  followed: boolean;
  /** Opened studies stay this many days after the last opening; 0: none. */
  recentDays: number;
  /** New arrivals: received within `hours`, in one of `statuses`; null: none. */
  window: { hours: number; statuses: readonly StudyStatus[] } | null;
  /** Earlier studies of the same patient per study on the device for itself; 0: none. */
  priorsPerStudy: number;
}

const OPEN_FOR_READING: readonly StudyStatus[] = ['unread', 'in_progress', 'preliminary'];

/**
 * Radiologists read their assignments and the unread arrivals of their modalities, with priors to
 * compare. Technologists work on what arrived today (image checks, reconciliation), without priors.
 * Admins manage, they do not read: only what they follow or opened. Referrers have no worklist
 * (no `study:read`): their device holds nothing of it; their own results come from /api/referrer.
 */
export const DEVICE_SCOPES: Readonly<Record<Role, DeviceScope>> = {
  attending: {
    assigned: OPEN_FOR_READING,
    followed: true,
    recentDays: 7,
    window: { hours: 48, statuses: ['unread'] },
    priorsPerStudy: 5,
  },
  resident: {
    assigned: OPEN_FOR_READING,
    followed: true,
    recentDays: 7,
    window: { hours: 48, statuses: ['unread'] },
    priorsPerStudy: 5,
  },
  technologist: {
    assigned: [],
    followed: true,
    recentDays: 3,
    window: { hours: 24, statuses: ['scheduled', 'unread'] },
    priorsPerStudy: 0,
  },
  admin: { assigned: [], followed: true, recentDays: 7, window: null, priorsPerStudy: 0 },
  referrer: { assigned: [], followed: false, recentDays: 0, window: null, priorsPerStudy: 0 },
};

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The earliest arrival the window still takes at `now`; null when the role has no window. */
export function windowStart(scope: DeviceScope, now: number): Date | null {
  return scope.window ? new Date(now - scope.window.hours * HOUR) : null;
}

/** The earliest opening that still counts as recent at `now`; null when the role keeps none. */
export function recentStart(scope: DeviceScope, now: number): Date | null {
  return scope.recentDays > 0 ? new Date(now - scope.recentDays * DAY) : null;
}

/** Whether a study is in the user's arrival window (`modalities` null: all of them). */
export function inWindow(
  scope: DeviceScope,
  userModalities: readonly string[] | null,
  study: { status: StudyStatus; receivedAt: Date | string; modalities: readonly string[] },
  now: number,
): boolean {
  const start = windowStart(scope, now);
  if (!start || !scope.window!.statuses.includes(study.status)) return false;
  if (new Date(study.receivedAt).getTime() < start.getTime()) return false;
  return userModalities === null || study.modalities.some((m) => userModalities.includes(m));
}

export interface PriorCandidate {
  id: string;
  /** Anything that names the patient the same way for all candidates (the server's patient row id). */
  patient: string;
  receivedAt: Date | string;
}

/**
 * For each anchor, its priors: the same patient's studies received before it (ties broken by id),
 * newest first, at most `perAnchor`. Answers prior id → the anchors it is a prior of.
 */
export function priorsOf(
  anchors: readonly PriorCandidate[],
  candidates: readonly PriorCandidate[],
  perAnchor: number,
): Map<string, string[]> {
  const result = new Map<string, string[]>();
  if (perAnchor <= 0) return result;
  const key = (c: PriorCandidate) => [new Date(c.receivedAt).getTime(), c.id] as const;
  const before = (a: PriorCandidate, b: PriorCandidate) => {
    const [ta, ia] = key(a);
    const [tb, ib] = key(b);
    return ta < tb || (ta === tb && ia < ib);
  };
  const byPatient = new Map<string, PriorCandidate[]>();
  for (const candidate of candidates) {
    const list = byPatient.get(candidate.patient) ?? [];
    list.push(candidate);
    byPatient.set(candidate.patient, list);
  }
  for (const list of byPatient.values()) list.sort((a, b) => (before(a, b) ? 1 : before(b, a) ? -1 : 0));
  for (const anchor of anchors) {
    let taken = 0;
    for (const candidate of byPatient.get(anchor.patient) ?? []) {
      if (taken >= perAnchor) break;
      if (candidate.id === anchor.id || !before(candidate, anchor)) continue;
      taken += 1;
      const of = result.get(candidate.id) ?? [];
      if (!of.includes(anchor.id)) of.push(anchor.id);
      result.set(candidate.id, of);
    }
  }
  return result;
}

/** What pruning needs of a row on the device (the feed's DeviceStudy has all of it). */
export interface HeldRow {
  id: string;
  receivedAt: string;
  /** Missing on a row stored before the scoped feed: it has no reason to stay. */
  scope?: readonly ScopeReason[];
  priorOf?: readonly string[];
  /** When this user last opened the study (for `recent`); null if never. */
  openedAt?: string | null;
}

/**
 * The device's rows after time has passed: `window` and `recent` reasons lapse by the clock, and
 * `prior` lapses once none of the rows it is a prior of is still held for itself. Rows left
 * without a reason are dropped. Reasons the server ends with a change (assignment, follow) stay
 * until the feed says otherwise.
 */
export function pruneDeviceRows<Row extends HeldRow>(rows: readonly Row[], role: Role, now: number): { keep: Row[]; drop: string[] } {
  const scope = DEVICE_SCOPES[role];
  const windowFrom = windowStart(scope, now)?.getTime() ?? Number.POSITIVE_INFINITY;
  const recentFrom = recentStart(scope, now)?.getTime() ?? Number.POSITIVE_INFINITY;
  const stillHeld = (row: Row, reason: ScopeReason): boolean => {
    if (reason === 'window') return new Date(row.receivedAt).getTime() >= windowFrom;
    if (reason === 'recent') return row.openedAt != null && new Date(row.openedAt).getTime() >= recentFrom;
    if (reason === 'assigned') return scope.assigned.length > 0;
    if (reason === 'followed') return scope.followed;
    return true;
  };
  const timed = rows.map((row) => ({ row, reasons: (row.scope ?? []).filter((reason) => reason === 'prior' || stillHeld(row, reason)) }));
  const anchors = new Set(timed.filter((t) => t.reasons.some((r) => r !== 'prior')).map((t) => t.row.id));
  const keep: Row[] = [];
  const drop: string[] = [];
  for (const { row, reasons } of timed) {
    const left = reasons.filter((r) => r !== 'prior' || (scope.priorsPerStudy > 0 && (row.priorOf ?? []).some((id) => anchors.has(id))));
    if (left.length === 0) drop.push(row.id);
    else keep.push(left.length === row.scope?.length ? row : { ...row, scope: left });
  }
  return { keep, drop };
}
