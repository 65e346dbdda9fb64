/**
 * /reconcile: studies whose images came without an order, beside the orders still waiting for
 * images. Pick a study, then attach it to its order (the same patient's orders are offered first)
 * or confirm that it needs none. For technologists and admins (order:reconcile), online only; the
 * API checks the patient and the order's state again and says why it refuses.
 */
import { can } from '@pacs/shared';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { errorText } from '../admin/errors';
import { ErrorAlert, Notice } from '../admin/Messages';
import { api } from '../api/client';
import type { OrderMatchDecision, PendingOrder, WorklistStudy } from '../api/types';
import { useWorkspace } from '../device/workspace';

const patientOf = (s: WorklistStudy) => `${s.patientName.replace(/\^/g, ' ').trim()} (${s.patientId})`;

export default function ReconciliationPage() {
  const { user } = useWorkspace();
  const [studies, setStudies] = useState<WorklistStudy[] | null>(null);
  const [orders, setOrders] = useState<PendingOrder[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [s, o] = await Promise.all([
        api.request<{ items: WorklistStudy[] }>('GET', '/api/reconciliation/studies'),
        api.request<{ items: PendingOrder[] }>('GET', '/api/reconciliation/orders'),
      ]);
      setStudies(s.items);
      setOrders(o.items);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const study = studies?.find((s) => s.id === selected) ?? null;
  // The same patient's orders first (the only ones the API accepts), then the rest for context.
  const candidates = useMemo(() => {
    if (!study) return [];
    const same = orders.filter((o) => o.patientId === study.patientId);
    return [...same, ...orders.filter((o) => o.patientId !== study.patientId)];
  }, [orders, study]);

  const decide = async (decision: OrderMatchDecision, done: string) => {
    if (!study) return;
    try {
      await api.request<WorklistStudy>('POST', `/api/studies/${encodeURIComponent(study.id)}/order-match`, decision);
      setNotice(done);
      setSelected(null);
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  };

  if (!can(user.role, 'order:reconcile')) {
    return (
      <section className="page">
        <h1>Not allowed</h1>
        <p role="alert">Reconciliation is for technologists and administrators.</p>
      </section>
    );
  }
  return (
    <section className="page" aria-labelledby="reconcile-title">
      <div className="page-head">
        <h1 id="reconcile-title">Reconcile studies and orders</h1>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorAlert message={error} />
      <Notice message={notice} testId="reconcile-notice" />
      <div className="reconcile">
        <div>
          <h2>Images without an order</h2>
          {studies?.length === 0 && <p className="empty">Every study has its order.</p>}
          <ul className="reconcile-list" data-testid="unmatched-studies">
            {studies?.map((s) => (
              <li key={s.id}>
                <label>
                  <input type="radio" name="study" checked={selected === s.id} onChange={() => setSelected(s.id)} />{' '}
                  <strong>{patientOf(s)}</strong> · {s.modalities.join('/')} {s.description} · {s.studyDate ?? ''}
                  {s.accessionNumber && <span className="muted"> · accession {s.accessionNumber}</span>}
                </label>
              </li>
            ))}
          </ul>
        </div>
        <div>
          <h2>{study ? `Orders for ${patientOf(study)} first` : 'Orders waiting for images'}</h2>
          {study && (
            <p>
              <button type="button" onClick={() => void decide({ unordered: true }, 'Confirmed as needing no order.')}>
                Needs no order
              </button>
            </p>
          )}
          {orders.length === 0 && <p className="empty">No order is waiting.</p>}
          <ul className="reconcile-list" data-testid="pending-orders">
            {(study ? candidates : orders).map((o) => (
              <li key={o.id} className={study && o.patientId !== study.patientId ? 'muted' : undefined}>
                <strong>
                  {o.patientName.replace(/\^/g, ' ').trim()} ({o.patientId})
                </strong>{' '}
                · {o.modality} {o.procedureText} · accession {o.accessionNumber}
                {o.scheduledAt && <span className="muted"> · scheduled {new Date(o.scheduledAt).toLocaleString()}</span>}
                {study && o.patientId === study.patientId && (
                  <>
                    {' '}
                    <button
                      type="button"
                      onClick={() => void decide({ orderId: o.id }, `Attached to order ${o.accessionNumber || o.placerOrderNumber}.`)}
                    >
                      Attach to this order
                    </button>
                  </>
                )}
              </li>
            ))}
          </ul>
        </div>
      </div>
    </section>
  );
}
