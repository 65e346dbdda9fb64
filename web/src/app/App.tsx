import { can } from '@pacs/shared';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { api } from '../api/client';
import { LockedPage } from '../auth/LockedPage';
import { LoginPage } from '../auth/LoginPage';
import { PinPage } from '../auth/PinPage';
import { session } from '../auth/session';
import { flushFlags } from '../critical/flag-outbox';
import { checkEviction } from '../device/eviction';
import { uploadOfflineReads } from '../device/offline-reads';
import { RetryingTask } from '../device/retrying-task';
import { createWorkspace, type Workspace, WorkspaceContext } from '../device/workspace';
import { flushMeasurements } from '../measurements/measurement-outbox';
import { pwa } from '../pwa/register';
import { Shell } from './Shell';
import { UpdatePrompt } from './UpdatePrompt';

const FLAG_RETRY_MS = 30_000;

/** The application: the update prompt, then the session's screen (sign-in, locked) or the signed-in frame; while an update is applied, only a notice (nothing runs in the background). */
export function App() {
  const state = useSyncExternalStore(session.subscribe, session.get, session.get);
  const updating = useSyncExternalStore(pwa.subscribe, pwa.isApplying, () => false);
  return (
    <>
      <UpdatePrompt />
      {updating ? (
        <main className="splash" aria-busy="true">
          <p role="status">Updating to the new version…</p>
        </main>
      ) : state.mode === 'loading' ? (
        <main className="splash" aria-busy="true">
          <p>Opening…</p>
        </main>
      ) : state.mode === 'anonymous' || !state.user ? (
        <LoginPage message={state.message} />
      ) : state.mode === 'pin' ? (
        <PinPage name={state.user.name} />
      ) : state.mode === 'locked' ? (
        <LockedPage message={state.message} />
      ) : (
        <SignedIn key={state.user.id} userId={state.user.id} />
      )}
    </>
  );
}

/** One signed-in user's workspace (device database, sync engine, worklist), opened for as long as they stay signed in. */
function SignedIn({ userId }: { userId: string }) {
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  useEffect(() => {
    const user = session.get().user;
    if (!user || user.id !== userId) return;
    const created = createWorkspace(user);
    created.worklist.start();
    // A referrer has no worklist to mirror.
    // The eviction check reads the sync cursor before the sync writes one.
    if (can(user.role, 'study:read')) void checkEviction(created.db, user.id).finally(() => created.engine.start());
    // The reports of assigned studies and the signed reports of their priors come to the device too
    // (loaded with the report code, not in the entry chunk).
    let downloads: { stop(): void } | null = null;
    let ended = false;
    if (can(user.role, 'report:read')) {
      void import('../report/downloads').then(({ ReportDownloads }) => {
        if (ended) return;
        const started = new ReportDownloads({ ...created });
        started.start();
        downloads = started;
      });
    }
    // Critical-result flags raised, measurements drawn and patient data viewed offline leave as soon
    // as the connection returns, whatever page is open. Offline reads that fail to go are sent
    // again within seconds, not at the next periodic flush.
    const offlineReads = new RetryingTask(async () => {
      if (session.get().mode === 'online') await uploadOfflineReads(created.db, user.id, api);
    });
    const flush = () => {
      if (session.get().mode !== 'online') return;
      void flushFlags(created.db).catch(() => undefined);
      void flushMeasurements(created.db).catch(() => undefined);
      offlineReads.kick();
    };
    let lastMode = session.get().mode;
    const unsubscribe = session.subscribe(() => {
      const mode = session.get().mode;
      if (mode === 'online' && lastMode !== 'online') flush();
      lastMode = mode;
    });
    window.addEventListener('online', flush);
    const timer = window.setInterval(flush, FLAG_RETRY_MS);
    flush();
    setWorkspace(created);
    return () => {
      ended = true;
      downloads?.stop();
      offlineReads.stop();
      window.removeEventListener('online', flush);
      unsubscribe();
      window.clearInterval(timer);
      created.engine.stop();
      created.worklist.stop();
      created.db.close();
    };
  }, [userId]);
  if (!workspace) return null;
  return (
    <WorkspaceContext.Provider value={workspace}>
      <Shell />
    </WorkspaceContext.Provider>
  );
}
