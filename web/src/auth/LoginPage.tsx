import { type FormEvent, useState } from 'react';
import { ApiError, NetworkError } from '../api/client';
import type { MfaChallenge } from '../api/types';
import { SecondFactorStep } from './SecondFactorStep';
import { session } from './session';

export function LoginPage({ message }: { message: string | null }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setChallenge(await session.login(email, password));
    } catch (e) {
      if (e instanceof NetworkError) setError('No connection to the server. Signing in needs the network once.');
      else if (e instanceof ApiError) setError(e.message);
      else setError('Sign-in failed.');
    } finally {
      setBusy(false);
    }
  };

  if (challenge) {
    return (
      <main className="login" id="main">
        <div className="card login-card">
          <h1>PACS Reading Room</h1>
          <SecondFactorStep
            challenge={challenge}
            onCancel={() => {
              setChallenge(null);
              setPassword('');
            }}
          />
        </div>
      </main>
    );
  }
  return (
    <main className="login" id="main">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">PACS Reading Room</h1>
        {message && (
          <p className="notice" role="status">
            {message}
          </p>
        )}
        <label>
          Email
          <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
