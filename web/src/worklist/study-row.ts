/** A study's worklist row: from the device when the worklist holds it (offline too), else from the API. */
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { StudyDetail, WorklistStudy } from '../api/types';
import type { WorklistDb } from '../device/db';
import { useWorkspace } from '../device/workspace';

/** `onDevice`: the device's read of the row, when the caller started it earlier. */
export async function worklistRow(
  db: WorklistDb,
  studyId: string,
  onDevice: Promise<WorklistStudy | null | undefined> = db.sealed.studies.get(studyId),
): Promise<WorklistStudy | null> {
  const local = await onDevice;
  if (local) return local;
  const detail = await api.request<StudyDetail>('GET', `/api/studies/${encodeURIComponent(studyId)}`);
  return detail.study;
}

/** The row, or null while it loads or when neither the device nor the network has it. */
export function useStudyRow(studyId: string): WorklistStudy | null {
  const { db } = useWorkspace();
  const [row, setRow] = useState<WorklistStudy | null>(null);
  useEffect(() => {
    let current = true;
    setRow(null);
    worklistRow(db, studyId)
      .then((found) => current && setRow(found))
      .catch(() => {});
    return () => {
      current = false;
    };
  }, [db, studyId]);
  return row;
}
