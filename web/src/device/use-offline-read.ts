/** Records a view as an offline read while the session is offline (see offline-reads.ts). */
import type { OfflineReadFields } from '@pacs/shared';
import { useEffect, useSyncExternalStore } from 'react';
import { session } from '../auth/session';
import { recordOfflineRead } from './offline-reads';
import { useWorkspace } from './workspace';

const modeOf = () => session.get().mode;

/** Once per subject shown while offline (and again if the page is shown again offline). Null: nothing shown yet. */
export function useOfflineRead(fields: Omit<OfflineReadFields, 'at'> | null): void {
  const { db, user } = useWorkspace();
  const mode = useSyncExternalStore(session.subscribe, modeOf, modeOf);
  const key = fields ? `${fields.event}|${fields.studyId ?? ''}|${fields.reportId ?? ''}|${fields.seriesInstanceUid ?? ''}` : null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key names the fields
  useEffect(() => {
    if (mode !== 'offline' || !fields) return;
    void recordOfflineRead(db, user.id, fields).catch(() => undefined);
  }, [mode, key, db, user.id]);
}
