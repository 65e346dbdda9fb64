import { useMemo } from 'react';
import { useWorkspace } from '../device/workspace';
import { authFetch } from './auth';
import { offlineBudgetBytes } from './config';
import { instanceFramePixels } from './cornerstone';
import { hasOpenReportDraft } from './offline-policy';
import { OfflineStudies } from './offline-studies';

/** The signed-in user's offline studies, one instance per component (and per database). */
export function useOfflineStudies(): OfflineStudies {
  const { db, vault } = useWorkspace();
  return useMemo(
    () =>
      new OfflineStudies(db, authFetch, {
        // Throws while the vault is locked (the offline limit passed): nothing opens then.
        key: async () => vault.dataKey(),
        budgetBytes: offlineBudgetBytes,
        isProtected: hasOpenReportDraft(db),
        framePixels: instanceFramePixels,
      }),
    [db, vault],
  );
}
