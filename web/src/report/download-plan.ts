/**
 * Which reports a device downloads with its worklist rows, and which it lets go: the reports of the
 * user's assigned studies (drafts to go on with offline), and the signed reports of the priors held
 * for them (to compare with offline). A copy is fetched again when its row changes (a report being
 * signed changes its study's status, so its row's version), and removed once its study has left the
 * device — never while it holds a report started here that the server has not adopted yet.
 */
import type { ScopeReason, StudyStatus } from '@pacs/shared';

export interface DownloadRow {
  id: string;
  status: StudyStatus;
  version: number;
  scope?: readonly ScopeReason[];
}

/** What the device keeps of one study's report (the `reports` table, without the report itself). */
export interface HeldReportCopy {
  studyId: string;
  reportId: string | null;
  /** The row version the copy was taken at; undefined for copies kept before downloads existed. */
  rowVersion?: number;
  /** A report started on this device and not adopted yet: the copy is the only one. */
  pendingStart: boolean;
}

export interface ReportDownloadPlan {
  /** Studies whose report to fetch now, assigned ones first. */
  fetch: string[];
  /** Copies whose study left the device. */
  drop: HeldReportCopy[];
}

/** Why a row's report is wanted on the device, or null. */
export function reportWanted(row: DownloadRow): 'assigned' | 'prior' | null {
  const scope = row.scope ?? [];
  if (scope.includes('assigned')) return 'assigned';
  if (scope.includes('prior') && row.status === 'final') return 'prior';
  return null;
}

export function planReportDownloads(rows: readonly DownloadRow[], held: readonly HeldReportCopy[]): ReportDownloadPlan {
  const heldBy = new Map(held.map((copy) => [copy.studyId, copy]));
  const assigned: string[] = [];
  const priors: string[] = [];
  for (const row of rows) {
    const why = reportWanted(row);
    if (!why) continue;
    const copy = heldBy.get(row.id);
    if (copy?.pendingStart) continue;
    if (copy && copy.rowVersion === row.version) continue;
    (why === 'assigned' ? assigned : priors).push(row.id);
  }
  const present = new Set(rows.map((row) => row.id));
  const drop = held.filter((copy) => !present.has(copy.studyId) && !copy.pendingStart);
  return { fetch: [...assigned, ...priors], drop };
}
