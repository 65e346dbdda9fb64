import { session } from './session';

/**
 * Shown instead of the app when the device's data is locked (see session.ts): offline longer than
 * the offline limit, or started offline without a PIN (then `message` says so).
 */
export function LockedPage({ message }: { message: string | null }) {
  return (
    <main className="login" id="main">
      <div className="card login-card">
        <h1>{message ? 'Offline: locked' : 'Offline session limit reached'}</h1>
        <p>
          {message ??
            'This device has been offline longer than the allowed offline period. Worklist data stays on the device, encrypted, until you reconnect and sign in. Pending changes are kept.'}
        </p>
        <button type="button" className="primary" onClick={() => void session.reconnect()}>
          Try to reconnect
        </button>
      </div>
    </main>
  );
}
