import { type FormEvent, useState, useSyncExternalStore } from 'react';
import { OFFLINE_LIMIT_MS } from '../auth/session';
import { PIN_MIN_LENGTH } from '../device/vault/vault';
import { useWorkspace } from '../device/workspace';

/**
 * The offline PIN: what opens this device's encrypted worklist and reports when the app starts
 * without a network. Set while signed in online (the server's key opens the vault then); it works
 * until the offline limit after the last confirmation by the server.
 */
export function OfflinePin() {
  const { vault } = useWorkspace();
  const state = useSyncExternalStore(vault.subscribe, vault.get, vault.get);
  const [pin, setPin] = useState('');
  const [again, setAgain] = useState('');
  const [message, setMessage] = useState<{ kind: 'error' | 'status'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const canSet = state.kind === 'unlocked' && state.via === 'server';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (pin !== again) return setMessage({ kind: 'error', text: 'The two PINs differ.' });
    setBusy(true);
    try {
      await vault.setPin(pin, Date.now() + OFFLINE_LIMIT_MS);
      setPin('');
      setAgain('');
      setMessage({ kind: 'status', text: 'Offline PIN set on this device.' });
    } catch (e) {
      setMessage({ kind: 'error', text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };

  const hasPin = state.kind === 'unlocked' && state.hasPin;
  return (
    <>
      <p>
        {hasPin
          ? `This device has an offline PIN, usable until ${new Date(state.pinNotAfter!).toLocaleString()} unless you connect again.`
          : 'No offline PIN on this device: when the app starts without a network, your worklist and reports stay locked.'}
      </p>
      {message && (
        <p className={message.kind === 'error' ? 'error' : 'notice'} role={message.kind === 'error' ? 'alert' : 'status'}>
          {message.text}
        </p>
      )}
      {canSet ? (
        <form onSubmit={submit} aria-label="Offline PIN">
          <label>
            New PIN (at least {PIN_MIN_LENGTH} characters)
            <input
              type="password"
              autoComplete="new-password"
              inputMode="numeric"
              minLength={PIN_MIN_LENGTH}
              required
              value={pin}
              onChange={(e) => setPin(e.target.value)}
            />
          </label>
          <label>
            The same PIN again
            <input
              type="password"
              autoComplete="new-password"
              inputMode="numeric"
              required
              value={again}
              onChange={(e) => setAgain(e.target.value)}
            />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {hasPin ? 'Change the PIN' : 'Set the PIN'}
          </button>
          {hasPin && (
            <button type="button" disabled={busy} onClick={() => void vault.removePin().then(() => setMessage(null))}>
              Remove the PIN
            </button>
          )}
        </form>
      ) : (
        <p className="muted">Connect to the server to set or change the PIN.</p>
      )}
    </>
  );
}
