/**
 * Priors: the patient's earlier studies in the device's worklist (matched on patient id), kept
 * current as it syncs, each marked when it is complete on the device (it opens without network).
 */
import { useEffect, useState } from 'react';
import type { WorklistStudy } from '../api/types';
import { useWorklist, useWorkspace } from '../device/workspace';
import type { OfflineStudies } from './offline-studies';
import { type Loaded, loadStudy } from './use-study';

export type Prior = WorklistStudy & { onDevice: boolean };

export function usePriors(offlineStudies: OfflineStudies, main: Loaded | null, onOpened: (loaded: Loaded) => void) {
  const { db } = useWorkspace();
  const [priors, setPriors] = useState<Prior[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const worklistRows = useWorklist().rows;
  useEffect(() => {
    if (!main) return;
    let cancelled = false;
    const patientId = main.row?.patientId ?? main.study.patientId;
    const date = main.row?.studyDate ?? main.study.studyDate;
    const earlier = worklistRows
      .filter((s) => s.patientId === patientId && s.id !== main.studyId && (!date || !s.studyDate || s.studyDate <= date))
      .sort((a, b) => (b.studyDate ?? '').localeCompare(a.studyDate ?? '') || b.receivedAt.localeCompare(a.receivedAt));
    Promise.all(earlier.map(async (s) => ({ ...s, onDevice: (await offlineStudies.get(s.id))?.state === 'complete' })))
      .then((list) => {
        if (!cancelled) setPriors(list);
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [offlineStudies, main, worklistRows]);

  /** Loads a prior and hands it to `onOpened`; `problem` says why it could not. */
  const open = async (prior: WorklistStudy) => {
    setProblem(null);
    try {
      onOpened(await loadStudy(db, offlineStudies, prior.id, null));
    } catch (error) {
      setProblem((error as Error).message || String(error));
    }
  };

  return { priors, problem, open };
}
