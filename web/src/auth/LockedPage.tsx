import { session } from './session';

/** Shown instead of the app once the device has been offline longer than the offline limit (see session.ts). */
export function LockedPage() {
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
