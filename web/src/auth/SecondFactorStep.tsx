/**
 * The second step of a sign-in when the account has (or must set up) a second factor: a code from
 * the authenticator app or a recovery code; or, at the first sign-in of a role that requires one,
 * the secret to scan (QR code, or the key to type), a code from it, and the recovery codes, shown
 * once, before the session starts.
 */
import QRCode from 'qrcode';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, api, NetworkError } from '../api/client';
import type { EnrolledSession, MfaChallenge, MfaEnrolment, SessionResponse } from '../api/types';
import { session } from './session';

function message(error: unknown): string {
  if (error instanceof NetworkError) return 'No connection to the server.';
  if (error instanceof ApiError) return error.message;
  return 'That did not work.';
}

export function RecoveryCodeList({ codes }: { codes: string[] }) {
  return (
    <ol className="recovery-codes" data-testid="recovery-codes">
      {codes.map((code) => (
        <li key={code}>
          <code>{code}</code>
        </li>
      ))}
    </ol>
  );
}

/** The secret as a QR code for the app, and as text for typing. */
export function EnrolmentSecret({ enrolment }: { enrolment: MfaEnrolment }) {
  const [qr, setQr] = useState<string | null>(null);
  useEffect(() => {
    void QRCode.toDataURL(enrolment.uri, { margin: 1, width: 200 }).then(setQr);
  }, [enrolment.uri]);
  return (
    <div className="enrolment">
      {qr && <img src={qr} width={200} height={200} alt="QR code to scan with an authenticator app" />}
      <p>
        Cannot scan it? Enter this key in the app: <code data-testid="mfa-secret">{enrolment.secret}</code>
      </p>
    </div>
  );
}

export function SecondFactorStep({ challenge, onCancel }: { challenge: MfaChallenge; onCancel: () => void }) {
  const [code, setCode] = useState('');
  const [useRecovery, setUseRecovery] = useState(false);
  const [remember, setRemember] = useState(false);
  const [enrolment, setEnrolment] = useState<MfaEnrolment | null>(null);
  const [enrolled, setEnrolled] = useState<EnrolledSession | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (challenge.mfa !== 'enrol') return;
    api
      .secondFactorStep<MfaEnrolment>('/api/auth/mfa/enrol', { challenge: challenge.challenge })
      .then(setEnrolment)
      .catch((e: unknown) => setError(message(e)));
  }, [challenge]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (challenge.mfa === 'enrol') {
        const answer = await api.secondFactorStep<EnrolledSession>('/api/auth/mfa/enrol/confirm', { challenge: challenge.challenge, code });
        api.adopt(answer);
        setEnrolled(answer);
      } else {
        const body = useRecovery
          ? { challenge: challenge.challenge, recoveryCode: code.trim() }
          : { challenge: challenge.challenge, code, rememberDevice: remember };
        const answer = await api.secondFactorStep<SessionResponse>('/api/auth/mfa/verify', body);
        api.adopt(answer);
        void session.completeSignIn(answer);
      }
    } catch (e) {
      setError(message(e));
      if (e instanceof ApiError && e.code === 'MFA_CHALLENGE_INVALID') onCancel();
    } finally {
      setBusy(false);
    }
  };

  if (enrolled) {
    return (
      <div className="second-factor">
        <h2>Save your recovery codes</h2>
        <p>Each code signs you in once if you lose your phone. They are shown only now: print them or keep them in a safe place.</p>
        <RecoveryCodeList codes={enrolled.recoveryCodes} />
        <button type="button" className="primary" onClick={() => void session.completeSignIn(enrolled)}>
          I have saved them — continue
        </button>
      </div>
    );
  }
  return (
    <form className="second-factor" onSubmit={(e) => void submit(e)} aria-label="Second factor">
      {challenge.mfa === 'enrol' ? (
        <>
          <h2>Set up your second factor</h2>
          <p>Your role signs in with a code from an authenticator app as well. Scan this with the app, then type the code it shows.</p>
          {enrolment ? <EnrolmentSecret enrolment={enrolment} /> : <p aria-busy="true">Preparing…</p>}
        </>
      ) : (
        <h2>{useRecovery ? 'Recovery code' : 'Code from your authenticator app'}</h2>
      )}
      <label>
        {useRecovery ? 'Recovery code' : 'Code'}
        <input
          inputMode={useRecovery ? 'text' : 'numeric'}
          autoComplete="one-time-code"
          pattern={useRecovery ? '[A-Za-z0-9-]{10,20}' : '[0-9]{6}'}
          required
          value={code}
          onChange={(e) => setCode(e.target.value.trim())}
        />
      </label>
      {challenge.mfa === 'verify' && !useRecovery && (
        <label className="inline">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} /> Remember this device
        </label>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Checking…' : challenge.mfa === 'enrol' ? 'Turn on and sign in' : 'Sign in'}
      </button>
      {challenge.mfa === 'verify' && (
        <button type="button" className="link" onClick={() => setUseRecovery((value) => !value)}>
          {useRecovery ? 'Use the authenticator app' : 'Use a recovery code'}
        </button>
      )}
      <button type="button" className="link" onClick={onCancel}>
        Back
      </button>
    </form>
  );
}
