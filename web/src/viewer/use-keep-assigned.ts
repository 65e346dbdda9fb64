import { isStudyOpen } from '@pacs/shared';
import { useEffect, useRef, useState } from 'react';
import type { WorklistDb } from '../device/db';
import { useWorklist } from '../device/workspace';
import { offlineBudgetBytes } from './config';
import { keepAssignedEnabled, keepAssignedOffline, setKeepAssigned } from './offline-policy';
import type { OfflineStudies } from './offline-studies';

/**
 * "Keep my assigned studies offline": the setting and, while it is on and the session online, one
 * background run at a time, again whenever the set of the user's unsigned assigned studies changes.
 */
let keepAssignedRun: Promise<unknown> | null = null;
let keepAssignedAbort: AbortController | null = null;
export function useKeepAssigned(offlineStudies: OfflineStudies, db: WorklistDb, userId: string, online: boolean) {
  const [enabled, setEnabled] = useState(keepAssignedEnabled);
  const [status, setStatus] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const rows = useWorklist().rows;
  const assignedKey = rows
    .filter((r) => r.assignee?.id === userId && isStudyOpen(r.status))
    .map((r) => r.id)
    .sort()
    .join(',');
  const latestKey = useRef(assignedKey);
  latestKey.current = assignedKey;
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: assignedKey and generation are the triggers
  useEffect(() => {
    if (!enabled || !online || keepAssignedRun) return;
    const startedFor = latestKey.current;
    keepAssignedAbort = new AbortController();
    keepAssignedRun = keepAssignedOffline(offlineStudies, db, userId, {
      budgetBytes: offlineBudgetBytes,
      signal: keepAssignedAbort.signal,
      onProgress: (p) => mounted.current && setStatus(`Downloading an assigned study: ${p.doneFrames}/${p.totalFrames} images`),
    })
      .then((result) => {
        if (!mounted.current || !keepAssignedEnabled()) return;
        const parts = [`${result.downloaded.length} assigned stud${result.downloaded.length === 1 ? 'y' : 'ies'} downloaded`];
        if (result.skippedForBudget.length) parts.push(`${result.skippedForBudget.length} left out (offline budget full)`);
        if (result.failed.length) parts.push(`${result.failed.length} failed`);
        setStatus(parts.join(', '));
      })
      .finally(() => {
        keepAssignedRun = null;
        keepAssignedAbort = null;
        // assignments changed while it ran: run again for the new ones
        if (mounted.current && latestKey.current !== startedFor) setGeneration((g) => g + 1);
      });
  }, [enabled, online, offlineStudies, db, userId, assignedKey, generation]);
  const toggle = (on: boolean) => {
    setKeepAssigned(on);
    setEnabled(on);
    if (!on) {
      keepAssignedAbort?.abort(); // what was stored stays, like a cancelled download
      setStatus(null);
    }
  };
  return { enabled, toggle, status };
}

/** The setting and the status of the background run, as the toggle shows them. */
export type KeepAssigned = ReturnType<typeof useKeepAssigned>;
