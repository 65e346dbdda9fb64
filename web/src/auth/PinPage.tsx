import { type FormEvent, useState } from 'react';
import { PIN_ATTEMPTS } from '../device/vault/vault';
import { session } from './session';

/**
 * Shown when the app starts without a network: the device's data is sealed, and the PIN the user
 * set while online opens it (within the offline limit). Wrong PINs are counted on the device; the
 * last one removes the user's offline data.
 */
export function PinPage({ name }: { name: string }) {
  const [pin, setPin] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const outcome = await session.unlockWithPin(pin);
      if (outcome.kind === 'wrong') {
        setPin('');
        setError(
          outcome.attemptsLeft === 1
            ? 'Wrong PIN. One attempt left: another wrong PIN removes your offline data from this device.'
            : `Wrong PIN. ${outcome.attemptsLeft} attempts left.`,
        );
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login" id="main">
      <div className="card login-card">
        <h1 id="pin-title">Offline: enter your PIN</h1>
        <p>
          No connection to the server. Your worklist and reports on this device are encrypted; your offline PIN opens them, {name}. After{' '}
          {PIN_ATTEMPTS} wrong PINs they are removed from the device.
        </p>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <form onSubmit={submit} aria-labelledby="pin-title">
          <label>
            PIN
            <input type="password" autoComplete="off" inputMode="numeric" required value={pin} onChange={(e) => setPin(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={busy || pin.length === 0}>
            {busy ? 'Opening…' : 'Open'}
          </button>
        </form>
        <button type="button" onClick={() => void session.reconnect()}>
          Try to reconnect and sign in instead
        </button>
      </div>
    </main>
  );
}
