/**
 * The study bar above the viewer: where the images come from, the study's offline copy (make
 * available, progress, cancel, remove), device storage, the keep-assigned switch, and the page's
 * own links (`actions`).
 */
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import type { WorklistStudy } from '../api/types';
import type { OfflineStudyRow } from '../device/db';
import { formatBytes } from './format';
import { KeepAssignedToggle } from './KeepAssignedToggle';
import type { OfflineProgress, OfflineStudies } from './offline-studies';
import type { KeepAssigned } from './use-keep-assigned';
import type { Source } from './use-study';

export function OfflinePanel({
  offlineStudies,
  studyId,
  row,
  source,
  online,
  keepAssigned,
  actions,
}: {
  offlineStudies: OfflineStudies;
  studyId: string;
  /** The study's worklist row: needed to download it (null when the device copy has none). */
  row: WorklistStudy | null;
  source: Source;
  online: boolean;
  keepAssigned: KeepAssigned;
  actions?: ReactNode;
}) {
  const [offline, setOffline] = useState<OfflineStudyRow | null>(null);
  const [progress, setProgress] = useState<OfflineProgress | null>(null);
  const [quota, setQuota] = useState<{ usage: number; quota: number } | null>(null);
  const controller = useRef<AbortController | null>(null);

  const refreshOffline = useCallback(async () => {
    setOffline((await offlineStudies.get(studyId)) ?? null);
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    if (estimate?.quota) setQuota({ usage: estimate.usage ?? 0, quota: estimate.quota });
  }, [offlineStudies, studyId]);

  useEffect(() => {
    void refreshOffline();
  }, [refreshOffline]);

  const makeOffline = async () => {
    if (!row) return;
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    try {
      await offlineStudies.download(
        {
          id: studyId,
          studyInstanceUid: row.studyInstanceUid,
          label: `${row.modalities.join('/')} · ${row.studyDate ?? ''}`,
          extra: row,
        },
        { signal: abort.signal, onProgress: setProgress },
      );
    } catch (error) {
      setProgress((p) => (p ? { ...p, state: 'paused', error: (error as Error).message } : p));
    } finally {
      if (controller.current === abort) controller.current = null;
      await refreshOffline();
    }
  };
  const cancel = () => controller.current?.abort();
  const remove = async () => {
    controller.current?.abort();
    await offlineStudies.remove(studyId);
    setProgress(null);
    await refreshOffline();
  };

  const shown = progress && progress.studyId === studyId ? progress : offline;
  const downloading = offlineStudies.isDownloading(studyId);
  return (
    <div className="viewer-offline" aria-live="polite">
      <span data-testid="source">{source === 'offline' ? 'Opened from this device' : 'Streaming from the archive'}</span>
      {shown?.state === 'complete' ? (
        <>
          <strong data-testid="offline-state">Available offline</strong>
          <span className="muted">{formatBytes(shown.bytes)}</span>
          {online && (
            <button type="button" onClick={remove}>
              Remove from device
            </button>
          )}
        </>
      ) : downloading ? (
        <>
          <progress max={shown?.totalFrames || 1} value={shown?.doneFrames ?? 0} aria-label="Offline download" />
          <span data-testid="offline-state">
            {shown?.doneFrames ?? 0}/{shown?.totalFrames ?? '…'} images · {formatBytes(shown?.bytes ?? 0)}
          </span>
          <button type="button" onClick={cancel}>
            Cancel download
          </button>
        </>
      ) : online && row ? (
        <>
          <button type="button" onClick={makeOffline}>
            {shown ? 'Resume offline download' : 'Make available offline'}
          </button>
          {shown && (
            <span data-testid="offline-state">
              Paused at {shown.doneFrames}/{shown.totalFrames} images{shown.error ? ` (${shown.error})` : ''}
            </span>
          )}
          {shown && (
            <button type="button" onClick={remove}>
              Remove from device
            </button>
          )}
        </>
      ) : null}
      {quota && (
        <span className="muted">
          Device storage: {formatBytes(quota.usage)} of {formatBytes(quota.quota)}
        </span>
      )}
      <KeepAssignedToggle {...keepAssigned} />
      {actions}
    </div>
  );
}
