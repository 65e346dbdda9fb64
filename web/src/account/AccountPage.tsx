/**
 * /account: the signed-in user's own settings. The second factor: set one up (scan, confirm with a
 * code, save the recovery codes shown once), see how many recovery codes are left, or turn it off
 * with a current code where the role does not require one. Sessions and devices: where the account
 * is signed in, what each device holds offline; end a session or revoke a device. The offline PIN
 * that opens this device's encrypted data without a network. A report PDF
 * someone was given: is it authentic?
 */
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { errorText } from '../admin/errors';
import { api } from '../api/client';
import type { MfaEnrolment, MfaStatus, RecoveryCodes } from '../api/types';
import { EnrolmentSecret, RecoveryCodeList } from '../auth/SecondFactorStep';
import { OfflinePin } from './OfflinePin';
import { SessionsAndDevices } from './SessionsAndDevices';
import { VerifyReportPdf } from './VerifyReportPdf';

const accountError = (e: unknown) => errorText(e, 'The account page');

export default function AccountPage() {
  const [status, setStatus] = useState<MfaStatus | null>(null);
  const [enrolment, setEnrolment] = useState<MfaEnrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setStatus(await api.request<MfaStatus>('GET', '/api/auth/mfa'));
    } catch (e) {
      setError(accountError(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (event: FormEvent, run: () => Promise<void>) => {
    event.preventDefault();
    try {
      await run();
      setCode('');
      setError(null);
      await load();
    } catch (e) {
      setError(accountError(e));
    }
  };

  return (
    <section className="page" aria-labelledby="account-title">
      <h1 id="account-title">My account</h1>
      <section className="card" aria-labelledby="mfa-title">
        <h2 id="mfa-title">Second factor</h2>
        {error && <p role="alert">{error}</p>}
        {codes && (
          <>
            <p>Your second factor is on. Save these recovery codes now; each signs you in once if you lose your phone.</p>
            <RecoveryCodeList codes={codes} />
          </>
        )}
        {status && !status.enabled && !enrolment && (
          <>
            <p>Sign in with a code from an authenticator app as well as your password.</p>
            <button
              type="button"
              onClick={() =>
                void api.request<MfaEnrolment>('POST', '/api/auth/mfa/setup').then(setEnrolment, (e) => setError(accountError(e)))
              }
            >
              Set up a second factor
            </button>
          </>
        )}
        {status && !status.enabled && enrolment && (
          <form
            onSubmit={(e) =>
              void act(e, async () => {
                setCodes((await api.request<RecoveryCodes>('POST', '/api/auth/mfa/activate', { code })).recoveryCodes);
                setEnrolment(null);
              })
            }
            aria-label="Confirm the second factor"
          >
            <EnrolmentSecret enrolment={enrolment} />
            <label>
              Code from the app
              <input inputMode="numeric" pattern="[0-9]{6}" required value={code} onChange={(e) => setCode(e.target.value.trim())} />
            </label>
            <button type="submit" className="primary">
              Turn on
            </button>
          </form>
        )}
        {status?.enabled && (
          <>
            <p data-testid="mfa-status">
              On · {status.recoveryCodesLeft} recovery codes left{status.required ? ' · required for your role' : ''}
            </p>
            {!status.required && (
              <form
                onSubmit={(e) =>
                  void act(e, async () => {
                    await api.request('POST', '/api/auth/mfa/disable', { code });
                    setCodes(null);
                  })
                }
                aria-label="Turn off the second factor"
              >
                <label>
                  Current code
                  <input inputMode="numeric" pattern="[0-9]{6}" required value={code} onChange={(e) => setCode(e.target.value.trim())} />
                </label>
                <button type="submit">Turn off</button>
              </form>
            )}
          </>
        )}
      </section>
      <section className="card" aria-labelledby="pin-title">
        <h2 id="pin-title">Offline PIN</h2>
        <OfflinePin />
      </section>
      <section className="card" aria-labelledby="devices-title">
        <h2 id="devices-title">Your sessions and devices</h2>
        <SessionsAndDevices scope={{ kind: 'own' }} />
      </section>
      <section className="card" aria-labelledby="verify-title">
        <h2 id="verify-title">Is a report PDF authentic?</h2>
        <VerifyReportPdf />
      </section>
    </section>
  );
}
