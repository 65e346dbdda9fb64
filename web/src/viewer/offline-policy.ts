/**
 * Which offline studies the device keeps, beyond the least-recently-opened budget rule of OfflineStudies:
 * - eviction never removes a study whose report is still open (a draft being written or awaiting the
 *   attending), read from the synced worklist row;
 * - "keep my assigned studies offline" (a per-device setting) downloads the user's assigned, unsigned
 *   studies while the budget has room. No Cornerstone here.
 */
import { isStudyOpen } from '@pacs/shared';
import type { WorklistStudy } from '../api/types';
import type { WorklistDb } from '../device/db';
import type { OfflineProgress, OfflineStudies } from './offline-studies';

/** Study statuses whose report is open: being drafted (in_progress) or submitted but not signed (preliminary). */
export const OPEN_REPORT_STATUSES: ReadonlySet<WorklistStudy['status']> = new Set(['in_progress', 'preliminary']);

/** OfflineStudies' `isProtected` rule: true while the study's report is open (a draft not yet signed). */
export function hasOpenReportDraft(db: WorklistDb): (studyId: string) => Promise<boolean> {
  return async (studyId) => {
    const row = await db.sealed.studies.get(studyId);
    return !!row && OPEN_REPORT_STATUSES.has(row.status);
  };
}

const KEEP_ASSIGNED_KEY = 'pacs.viewer.keepAssigned';

export function keepAssignedEnabled(): boolean {
  try {
    return localStorage.getItem(KEEP_ASSIGNED_KEY) === '1';
  } catch {
    return false;
  }
}

export function setKeepAssigned(on: boolean): void {
  try {
    if (on) localStorage.setItem(KEEP_ASSIGNED_KEY, '1');
    else localStorage.removeItem(KEEP_ASSIGNED_KEY);
  } catch {
    // no localStorage: the setting cannot be remembered on this device
  }
}

/** The user's assigned studies that are not signed yet, most urgent first (stat, urgent, routine), then oldest. */
export async function assignedStudies(db: WorklistDb, userId: string): Promise<WorklistStudy[]> {
  const rows = await db.sealed.studies.where('assigneeId', userId);
  const rank = { stat: 0, urgent: 1, routine: 2 } as const;
  return rows
    .filter((s) => isStudyOpen(s.status))
    .sort((a, b) => rank[a.priority] - rank[b.priority] || a.receivedAt.localeCompare(b.receivedAt));
}

export interface KeepAssignedResult {
  /** Studies downloaded (or completed) in this run. */
  downloaded: string[];
  /** Studies left out because the offline budget is full. */
  skippedForBudget: string[];
  /** Studies whose download failed (network, server), with the reason. */
  failed: { studyId: string; error: string }[];
}

/**
 * Makes the user's assigned studies available offline, one at a time, skipping those already complete.
 * Stops adding studies once the stored total reaches the budget, so it never evicts one assigned study
 * to fit another (which would download them in turn for ever).
 */
export async function keepAssignedOffline(
  offlineStudies: OfflineStudies,
  db: WorklistDb,
  userId: string,
  { budgetBytes, signal, onProgress }: { budgetBytes: () => number; signal?: AbortSignal; onProgress?: (p: OfflineProgress) => void },
): Promise<KeepAssignedResult> {
  const result: KeepAssignedResult = { downloaded: [], skippedForBudget: [], failed: [] };
  for (const study of await assignedStudies(db, userId)) {
    if (signal?.aborted) break;
    const existing = await offlineStudies.get(study.id);
    if (existing?.state === 'complete') continue;
    if ((await offlineStudies.usedBytes()) >= budgetBytes()) {
      result.skippedForBudget.push(study.id);
      continue;
    }
    try {
      const row = await offlineStudies.download(
        {
          id: study.id,
          studyInstanceUid: study.studyInstanceUid,
          label: `${study.modalities.join('/')} · ${study.studyDate ?? ''}`,
          extra: study,
        },
        { signal, onProgress },
      );
      if (row.state === 'complete') result.downloaded.push(study.id);
    } catch (error) {
      result.failed.push({ studyId: study.id, error: (error as Error).message || String(error) });
    }
  }
  return result;
}
