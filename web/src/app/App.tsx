import { useEffect, useState, useSyncExternalStore } from 'react';
import { LockedPage } from '../auth/LockedPage';
import { LoginPage } from '../auth/LoginPage';
import { session } from '../auth/session';
import { createWorkspace, type Workspace, WorkspaceContext } from '../device/workspace';
import { Shell } from './Shell';
import { UpdatePrompt } from './UpdatePrompt';

/** The application: the update prompt, then the session's screen (sign-in, locked) or the signed-in frame. */
export function App() {
  const state = useSyncExternalStore(session.subscribe, session.get, session.get);
  return (
    <>
      <UpdatePrompt />
      {state.mode === 'loading' ? (
        <main className="splash" aria-busy="true">
          <p>Opening…</p>
        </main>
      ) : state.mode === 'anonymous' || !state.user ? (
        <LoginPage message={state.message} />
      ) : state.mode === 'locked' ? (
        <LockedPage />
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
    void created.engine.start();
    setWorkspace(created);
    return () => {
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
