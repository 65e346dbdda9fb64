import { useSyncStatus } from '../device/workspace';

export function StorageBanner() {
  const { storageError } = useSyncStatus();
  if (!storageError) return null;
  return (
    <div className="banner danger" role="alert" data-testid="storage-error">
      <strong>Storage full.</strong> {storageError}
    </div>
  );
}
