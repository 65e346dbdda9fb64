import { useSyncExternalStore } from 'react';
import { pwa } from '../pwa/register';

export function UpdatePrompt() {
  const ready = useSyncExternalStore(pwa.subscribe, pwa.isUpdateReady, () => false);
  if (!ready) return null;
  return (
    <div className="update-prompt" role="status">
      <span>A new version is ready.</span>
      <button type="button" className="primary" onClick={() => pwa.applyUpdate()}>
        Reload
      </button>
    </div>
  );
}
