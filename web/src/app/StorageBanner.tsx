import { evictionNotice, useEvictionNotice } from '../device/eviction';
import { useSyncStatus } from '../device/workspace';

export function StorageBanner() {
  const { storageError } = useSyncStatus();
  const evicted = useEvictionNotice();
  return (
    <>
      {storageError && (
        <div className="banner danger" role="alert" data-testid="storage-error">
          <strong>Storage full.</strong> {storageError}
        </div>
      )}
      {evicted && (
        <div className="banner warn" role="status" data-testid="storage-evicted">
          <strong>This device's offline copies were gone.</strong> The browser removed what this app kept here (it does when space runs low
          or after days without use). Your worklist and reports are being downloaded again; studies kept offline download again while “Keep
          my assigned studies offline” is on.{' '}
          <button type="button" className="link" onClick={evictionNotice.dismiss}>
            Dismiss
          </button>
        </div>
      )}
    </>
  );
}
