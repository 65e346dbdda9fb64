/**
 * /critical: the open critical results with their clocks, most urgent first (the department's
 * board for radiologists and admins; a referrer's own inbox), and the recently closed ones.
 * /critical/<id> (the link in the e-mail) shows that one first. Refreshed every few seconds.
 */
import { type CriticalResult, can } from '@pacs/shared';
import { useCallback, useState, useSyncExternalStore } from 'react';
import { errorText } from '../admin/errors';
import { api } from '../api/client';
import type { CriticalResultList } from '../api/types';
import { usePoll } from '../app/use-poll';
import { session } from '../auth/session';
import { useWorkspace } from '../device/workspace';
import { usePath } from '../router';
import { CriticalResultCard } from './CriticalResultCard';

const REFRESH_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export default function CriticalResultsPage() {
  const { user } = useWorkspace();
  const online = useSyncExternalStore(session.subscribe, session.get, session.get).mode === 'online';
  const wanted = usePath().split('/')[2] ?? '';
  const [open, setOpen] = useState<CriticalResult[] | null>(null);
  const [closed, setClosed] = useState<CriticalResult[]>([]);
  const [linked, setLinked] = useState<CriticalResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [o, a] = await Promise.all([
        api.request<CriticalResultList>('GET', '/api/critical-results?status=open&limit=200'),
        api.request<CriticalResultList>('GET', '/api/critical-results?status=acknowledged&limit=20'),
      ]);
      setOpen(o.items);
      setClosed(a.items);
      if (UUID.test(wanted) && !o.items.some((r) => r.id === wanted)) {
        setLinked(await api.request<CriticalResult>('GET', `/api/critical-results/${wanted}`));
      }
      setError(null);
    } catch (e) {
      setError(errorText(e, 'The critical-results page'));
    }
  }, [wanted]);

  usePoll(load, REFRESH_MS);

  if (!can(user.role, 'critical:read')) {
    return (
      <section className="page">
        <h1>Not allowed</h1>
        <p role="alert">Critical results are for radiologists, administrators and ordering physicians.</p>
      </section>
    );
  }
  const replace = (next: CriticalResult) => {
    setOpen((list) => (list ?? []).map((r) => (r.id === next.id ? next : r)));
    if (linked?.id === next.id) setLinked(next);
  };
  const referrer = user.role === 'referrer';
  const ordered = [...(open ?? [])].sort((a, b) => Number(b.id === wanted) - Number(a.id === wanted));
  return (
    <section className="page" aria-labelledby="critical-page-title">
      <div className="page-head">
        <h1 id="critical-page-title">{referrer ? 'Critical results for your patients' : 'Critical results'}</h1>
        <span className="muted">{open ? `${open.length} open` : 'Loading…'}</span>
      </div>
      {error && <p role="alert">{error}</p>}
      {linked && linked.status !== 'open' && (
        <CriticalResultCard result={linked} role={user.role} online={online} showPatient highlighted onChange={setLinked} />
      )}
      {open && open.length === 0 && <p className="muted">No open critical results.</p>}
      {ordered.map((result) => (
        <CriticalResultCard
          key={result.id}
          result={result}
          role={user.role}
          online={online}
          showPatient
          highlighted={result.id === wanted}
          onChange={replace}
        />
      ))}
      {closed.length > 0 && (
        <details>
          <summary>Recently acknowledged ({closed.length})</summary>
          {closed.map((result) => (
            <CriticalResultCard key={result.id} result={result} role={user.role} online={online} showPatient onChange={() => void load()} />
          ))}
        </details>
      )}
    </section>
  );
}
