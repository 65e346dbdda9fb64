import { useEffect, useState, useSyncExternalStore } from 'react';
import { session } from './auth/session';
import { Shell } from './components/Shell';
import { UpdatePrompt } from './components/UpdatePrompt';
import { LoginPage } from './pages/Login';
import { createWorkspace, type Workspace, WorkspaceContext } from './workspace';

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

function SignedIn({ userId }: { userId: string }) {
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  useEffect(() => {
    const user = session.get().user;
    if (!user || user.id !== userId) return;
    const created = createWorkspace(user);
    created.store.start();
    void created.engine.start();
    setWorkspace(created);
    return () => {
      created.engine.stop();
      created.store.stop();
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

function LockedPage() {
  return (
    <main className="login" id="main">
      <div className="card login-card">
        <h1>Offline session limit reached</h1>
        <p>
          This device has been offline longer than the allowed offline period. Worklist data stays on the device but is hidden until you
          reconnect and sign in. Pending changes are kept.
        </p>
        <button type="button" className="primary" onClick={() => void session.reconnect()}>
          Try to reconnect
        </button>
      </div>
    </main>
  );
}
