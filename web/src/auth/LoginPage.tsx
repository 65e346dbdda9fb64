import { isSsoError, SSO_ERRORS } from '@pacs/shared';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, api, NetworkError } from '../api/client';
import type { MfaChallenge, SignInMethods } from '../api/types';
import { SecondFactorStep } from './SecondFactorStep';
import { session } from './session';

/**
 * What the address bar says about a sign-in that just ended (`?sso_error=…`, `?signed_out=sso`),
 * read once and removed, so a reload does not repeat it; and where the hospital sign-in returns to.
 */
function takeRedirectOutcome(): { notice: string | null; error: string | null; returnTo: string } {
  const url = new URL(window.location.href);
  const code = url.searchParams.get('sso_error');
  const signedOut = url.searchParams.get('signed_out') === 'sso';
  url.searchParams.delete('sso_error');
  url.searchParams.delete('signed_out');
  const returnTo = `${url.pathname}${url.search}`;
  if (code !== null || signedOut) window.history.replaceState(window.history.state, '', returnTo);
  return {
    error: code === null ? null : isSsoError(code) ? SSO_ERRORS[code] : 'The hospital sign-in failed.',
    notice: signedOut ? 'Signed out here and at the hospital sign-in.' : null,
    returnTo,
  };
}

export function LoginPage({ message }: { message: string | null }) {
  const [outcome] = useState(takeRedirectOutcome);
  const [methods, setMethods] = useState<SignInMethods | null>(null);
  useEffect(() => {
    let live = true;
    // Offline or an older server: the password form alone, as before.
    api
      .signInMethods()
      .then((answer) => live && setMethods(answer))
      .catch(() => live && setMethods({ localLogin: true, sso: null }));
    return () => {
      live = false;
    };
  }, []);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(outcome.error);
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
  const localLogin = methods?.localLogin ?? true;
  const notice = message ?? outcome.notice;
  return (
    <main className="login" id="main">
      <div className="card login-card">
        <h1 id="login-title">PACS Reading Room</h1>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {methods?.sso && (
          <a className="button primary sso-button" href={`/api/auth/oidc/login?returnTo=${encodeURIComponent(outcome.returnTo)}`}>
            {methods.sso.label}
          </a>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {localLogin && (
          <form onSubmit={submit} aria-labelledby="login-title">
            {methods?.sso && <p className="muted">Or with a local account:</p>}
            <label>
              Email
              <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
            </label>
            <label>
              Password
              <input
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </label>
            <button type="submit" className={methods?.sso ? '' : 'primary'} disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </form>
        )}
      </div>
    </main>
  );
}
