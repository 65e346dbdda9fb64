/**
 * Interfaces: what the results outbox holds — ORU messages to the hospital's systems and the
 * archive's copies of signed reports — waiting, sent or dead; a dead one can be sent again
 * (its attempts start over). Admins only (interface:manage), like the API.
 */
import type { OUTBOX_STATUSES } from '@pacs/shared';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';
import type { OutboxEntry, OutboxPage } from '../api/types';
import { reportingErrors } from './errors';
import { ErrorAlert, Notice } from './Messages';

type StatusFilter = (typeof OUTBOX_STATUSES)[number] | '';

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

export function InterfacesPanel() {
  const [status, setStatus] = useState<StatusFilter>('dead');
  const [items, setItems] = useState<OutboxEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const load = useCallback(
    () =>
      reportingErrors(setError, async () => {
        const query = new URLSearchParams({ limit: '200', ...(status ? { status } : {}) });
        setItems((await api.request<OutboxPage>('GET', `/api/interfaces/outbox?${query}`)).items);
      }),
    [status],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const resend = (entry: OutboxEntry) =>
    reportingErrors(setError, async () => {
      await api.request<OutboxEntry>('POST', `/api/interfaces/outbox/${entry.id}/resend`);
      setNotice(`${entry.messageType} to ${entry.destination} queued again.`);
      await load();
    });
  return (
    <div className="admin-panel">
      <div className="filters">
        <label>
          Show{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)} data-testid="outbox-status">
            <option value="dead">dead (not delivered)</option>
            <option value="pending">waiting</option>
            <option value="sent">sent</option>
            <option value="">all</option>
          </select>
        </label>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorAlert message={error} />
      <Notice message={notice} testId="outbox-notice" />
      {items && items.length === 0 && <p className="empty">Nothing here.</p>}
      {items && items.length > 0 && (
        <table className="data" data-testid="outbox-table">
          <caption className="sr-only">Results outbox</caption>
          <thead>
            <tr>
              <th scope="col">Destination</th>
              <th scope="col">Message</th>
              <th scope="col">Patient</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last error</th>
              <th scope="col">Written</th>
              <th scope="col">Sent</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((entry) => (
              <tr key={entry.id} data-status={entry.status}>
                <td>{entry.destination}</td>
                <td title={entry.controlId}>{entry.messageType}</td>
                <td>{entry.patientId}</td>
                <td>
                  {entry.status}
                  {entry.ackCode && <span className="muted"> ({entry.ackCode})</span>}
                </td>
                <td>{entry.attempts}</td>
                <td>{entry.lastError || '—'}</td>
                <td>{when(entry.createdAt)}</td>
                <td>{when(entry.sentAt)}</td>
                <td>
                  {entry.status === 'dead' && (
                    <button type="button" onClick={() => void resend(entry)}>
                      Send again
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
