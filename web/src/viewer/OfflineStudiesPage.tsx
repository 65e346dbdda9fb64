/** /viewer without a study: the studies on this device, readable without network, and the keep-assigned switch. */
import { useEffect, useState, useSyncExternalStore } from 'react';
import { session } from '../auth/session';
import type { OfflineStudyRow } from '../device/db';
import { useWorkspace } from '../device/workspace';
import { Link } from '../router';
import { formatBytes } from './format';
import { KeepAssignedToggle } from './KeepAssignedToggle';
import { useKeepAssigned } from './use-keep-assigned';
import { useOfflineStudies } from './use-offline-studies';

export function OfflineStudiesPage() {
  return (
    <section className="page" aria-labelledby="viewer-title">
      <h1 id="viewer-title">Viewer</h1>
      <p>Open a study from the worklist. Studies on this device (readable without network):</p>
      <OfflineStudyList />
    </section>
  );
}

function OfflineStudyList() {
  const { db, user } = useWorkspace();
  const offlineStudies = useOfflineStudies();
  const sessionState = useSyncExternalStore(session.subscribe, session.get, session.get);
  const keepAssigned = useKeepAssigned(offlineStudies, db, user.id, sessionState.mode === 'online');
  const [rows, setRows] = useState<OfflineStudyRow[] | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new keep-assigned status means the list may have changed
  useEffect(() => {
    void offlineStudies.list().then(setRows);
  }, [offlineStudies, keepAssigned.status]);
  if (!rows) return null;
  return (
    <>
      <p>
        <KeepAssignedToggle {...keepAssigned} />
      </p>
      {rows.length === 0 ? (
        <p className="muted">No studies on this device. Open a study from the worklist and choose “Make available offline”.</p>
      ) : (
        <ul>
          {rows.map((r) => (
            <li key={r.id}>
              <Link href={`/viewer/${r.id}`}>{r.label || r.studyInstanceUid}</Link> —{' '}
              {r.state === 'complete' ? 'available offline' : `${r.doneFrames}/${r.totalFrames} images (incomplete)`} ·{' '}
              {formatBytes(r.bytes)}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
