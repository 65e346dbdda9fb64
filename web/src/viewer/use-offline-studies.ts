import { useMemo } from 'react';
import { OFFLINE_LIMIT_MS, session } from '../auth/session';
import { useWorkspace } from '../device/workspace';
import { authFetch } from './auth';
import { offlineBudgetBytes } from './config';
import { instanceFramePixels } from './cornerstone';
import { dataKey } from './crypto';
import { hasOpenReportDraft } from './offline-policy';
import { OfflineStudies } from './offline-studies';

/** The signed-in user's offline studies, one instance per component (and per database). */
export function useOfflineStudies(): OfflineStudies {
  const { db } = useWorkspace();
  return useMemo(
    () =>
      new OfflineStudies(db, authFetch, {
        key: () => {
          const { verifiedAt, mode } = session.get();
          // Online: the key lives for the offline limit from now; offline: until the limit of the last confirmation.
          const base = mode === 'online' ? Date.now() : Date.parse(verifiedAt ?? '') || 0;
          return dataKey(db, base + OFFLINE_LIMIT_MS);
        },
        budgetBytes: offlineBudgetBytes,
        isProtected: hasOpenReportDraft(db),
        framePixels: instanceFramePixels,
      }),
    [db],
  );
}
