/**
 * "Break the glass": a restricted patient's row is masked until the user states why they need the
 * data now. The reason is checked here with the API's own rule (shared), sent, and the worklist
 * pulled at once so the opened row arrives with the patient's data.
 */
import { BREAK_GLASS_REASON_MIN, checkBreakGlassReason } from '@pacs/shared';
import { useEffect, useRef, useState } from 'react';
import { errorText } from '../admin/errors';
import { ApiError, api } from '../api/client';
import type { AccessWindow, WorklistStudy } from '../api/types';
import { useWorklist, useWorkspace } from '../device/workspace';

export function BreakGlassDialog({ study, onOpened, onClose }: { study: WorklistStudy; onOpened: () => void; onClose: () => void }) {
  const { engine } = useWorkspace();
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => ref.current?.showModal(), []);

  const submit = async () => {
    const checked = checkBreakGlassReason(reason);
    if (!checked.ok) return setError(checked.message);
    setBusy(true);
    try {
      await api.request<AccessWindow>('POST', `/api/studies/${encodeURIComponent(study.id)}/break-glass`, { reason: checked.reason });
      await engine.syncNow();
      onOpened();
    } catch (e) {
      setError(errorText(e, 'Emergency access'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={ref} className="card dialog" aria-labelledby="break-glass-title" onClose={onClose} data-testid="break-glass-dialog">
      <h2 id="break-glass-title">Break the glass</h2>
      <p>
        This patient's data is restricted (accession {study.accessionNumber}). Access opens for you for a limited time; it is recorded and
        reviewed by the privacy officer.
      </p>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label htmlFor="break-glass-reason">Why do you need this patient's data now? (at least {BREAK_GLASS_REASON_MIN} characters)</label>
        <textarea
          id="break-glass-reason"
          value={reason}
          rows={3}
          onChange={(e) => setReason(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'break-glass-error' : undefined}
        />
        {error && (
          <p className="error" role="alert" id="break-glass-error">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={() => ref.current?.close()}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Open the record
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** "Emergency access until HH:MM" on every page while any of the user's windows is open (the latest end). */
export function EmergencyAccessBanner() {
  const { rows } = useWorklist();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  const until = rows
    .map((r) => (r.emergencyAccessUntil ? new Date(r.emergencyAccessUntil).getTime() : 0))
    .filter((t) => t > now)
    .sort((a, b) => b - a)[0];
  if (!until) return null;
  const time = new Date(until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  return (
    <p className="banner warn" role="status" data-testid="emergency-banner">
      Emergency access until {time}
    </p>
  );
}

/**
 * An admin's restrict / lift on a row (restriction:manage). A restriction the hospital's order or
 * the images set is lifted only after the admin confirms it (the API asks: CONFIRM_LIFT).
 */
export function RestrictionToggle({ study, onChanged }: { study: WorklistStudy; onChanged?: () => void }) {
  const { engine } = useWorkspace();
  const [error, setError] = useState<string | null>(null);
  const set = async (restricted: boolean) => {
    const url = `/api/studies/${encodeURIComponent(study.id)}/restriction`;
    try {
      try {
        await api.request('PUT', url, { restricted });
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 'CONFIRM_LIFT')) throw e;
        if (!window.confirm(`${e.message}. Lift it anyway?`)) return;
        await api.request('PUT', url, { restricted, liftExternal: true });
      }
      setError(null);
      await engine.syncNow();
      onChanged?.();
    } catch (e) {
      setError(errorText(e, 'Restricting a study'));
    }
  };
  return (
    <>
      <button type="button" className="small-btn" onClick={() => void set(!study.restricted)}>
        {study.restricted ? 'Lift restriction' : 'Restrict'}
      </button>
      {error && (
        <span className="error small" role="alert">
          {error}
        </span>
      )}
    </>
  );
}
