/**
 * What the report downloads (downloads.ts, loaded lazily with the report code) have on the device,
 * for the pages that show it; kept apart so the worklist reads it without loading the editor's code.
 */
import { useSyncExternalStore } from 'react';

export interface ReportDownloadsStatus {
  /** Reports whose copy is on the device (started ones included). */
  held: number;
  /** Of which signed (their signed text is on the device). */
  signed: number;
}

const EMPTY: ReportDownloadsStatus = { held: 0, signed: 0 };
let status = EMPTY;
const listeners = new Set<() => void>();

export const reportDownloadStatus = {
  get: (): ReportDownloadsStatus => status,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  set(patch: Partial<ReportDownloadsStatus>): void {
    status = { ...status, ...patch };
    for (const listener of listeners) listener();
  },
  reset(): void {
    reportDownloadStatus.set(EMPTY);
  },
};

export function useReportDownloadStatus(): ReportDownloadsStatus {
  return useSyncExternalStore(reportDownloadStatus.subscribe, reportDownloadStatus.get, reportDownloadStatus.get);
}
