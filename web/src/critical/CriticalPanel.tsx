/**
 * The report's critical results, beside the report: raise one (category and the finding as the
 * recipient must hear it), see whom it reached and its clock, record the call. Without a connection
 * the flag waits on this device and says so: its clock starts when the server receives it.
 */
import { CRITICAL_CATEGORIES, CRITICAL_CATEGORY_LABELS, type CriticalCategory, type CriticalResult, can, type Role } from '@pacs/shared';
import { type FormEvent, useCallback, useState } from 'react';
import { errorText } from '../admin/errors';
import { api } from '../api/client';
import type { CriticalResultList } from '../api/types';
import { usePoll } from '../app/use-poll';
import type { PendingCriticalFlag } from '../device/db';
import { useWorkspace } from '../device/workspace';
import { CriticalResultCard } from './CriticalResultCard';
import { flushFlags, raiseFlag } from './flag-outbox';

const REFRESH_MS = 15_000;

export function CriticalPanel({ reportId, role, online }: { reportId: string; role: Role; online: boolean }) {
  const { db } = useWorkspace();
  const [results, setResults] = useState<CriticalResult[]>([]);
  const [pending, setPending] = useState<PendingCriticalFlag[]>([]);
  const [category, setCategory] = useState<CriticalCategory>('red');
  const [message, setMessage] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [flagging, setFlagging] = useState(false);

  const load = useCallback(async () => {
    setPending(await db.sealed.criticalFlags.where('reportId', reportId));
    if (!online) return;
    try {
      if ((await flushFlags(db)) > 0) setPending(await db.sealed.criticalFlags.where('reportId', reportId));
      const list = await api.request<CriticalResultList>('GET', `/api/critical-results?reportId=${encodeURIComponent(reportId)}`);
      setResults(list.items);
    } catch (e) {
      setError(errorText(e, 'Flagging critical results'));
    }
  }, [db, reportId, online]);

  usePoll(load, REFRESH_MS);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const outcome = await raiseFlag(db, reportId, { category, message: message.trim() });
      if ('sent' in outcome) setResults((list) => [outcome.sent, ...list]);
      else setPending((list) => [...list, outcome.queued]);
      setMessage('');
      setFlagging(false);
      setError(null);
    } catch (e) {
      setError(errorText(e, 'Flagging critical results'));
    }
  };

  const replace = (next: CriticalResult) => setResults((list) => list.map((r) => (r.id === next.id ? next : r)));
  if (!can(role, 'critical:read')) return null;
  return (
    <section className="critical-panel" aria-labelledby="critical-title">
      <h2 id="critical-title">Critical results</h2>
      {pending.map((flag) => (
        <p key={flag.clientId} className="banner warn" data-testid="critical-pending" role="status">
          {CRITICAL_CATEGORY_LABELS[flag.category]}: “{flag.message}” —{' '}
          {flag.state === 'failed'
            ? `refused by the server: ${flag.error ?? ''}`
            : 'waiting for a connection on this device. Its clock starts when the server receives it; until then nobody has been told.'}
        </p>
      ))}
      {results.map((result) => (
        <CriticalResultCard key={result.id} result={result} role={role} online={online} showPatient={false} onChange={replace} />
      ))}
      {can(role, 'critical:flag') &&
        (flagging ? (
          <form className="critical-flag" onSubmit={(e) => void submit(e)} aria-label="Flag a critical result">
            <fieldset>
              <legend>Category</legend>
              {CRITICAL_CATEGORIES.map((c) => (
                <label key={c} className="inline">
                  <input type="radio" name="critical-category" value={c} checked={category === c} onChange={() => setCategory(c)} />{' '}
                  {CRITICAL_CATEGORY_LABELS[c]}
                </label>
              ))}
            </fieldset>
            <label>
              Finding, as the ordering physician must hear it
              <textarea value={message} onChange={(e) => setMessage(e.target.value)} required maxLength={2000} rows={3} />
            </label>
            <button type="submit" className="danger" disabled={!message.trim()}>
              Send critical result
            </button>{' '}
            <button type="button" onClick={() => setFlagging(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <button type="button" className="danger" onClick={() => setFlagging(true)}>
            Flag a critical result…
          </button>
        ))}
      {error && <p role="alert">{error}</p>}
    </section>
  );
}
