/**
 * Emergency access review (privacy:review): every time someone broke the glass — who, why, which
 * patient and study, how long, how many reads — and the privacy officer's sign-off, given once.
 */
import { formatPersonName, type REVIEW_STATUSES, type ReviewVerdict } from '@pacs/shared';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';
import type { EmergencyAccess, EmergencyAccessPage } from '../api/types';
import { reportingErrors } from './errors';
import { ErrorAlert, Notice } from './Messages';

type StatusFilter = (typeof REVIEW_STATUSES)[number] | '';
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');
const VERDICT_LABEL: Record<EmergencyAccess['reviewStatus'], string> = {
  pending: 'to review',
  justified: 'justified',
  'not-justified': 'not justified',
};

export function EmergencyAccessPanel() {
  const [status, setStatus] = useState<StatusFilter>('pending');
  const [items, setItems] = useState<EmergencyAccess[] | null>(null);
  const [notes, setNotes] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const load = useCallback(
    () =>
      reportingErrors(setError, async () => {
        const query = new URLSearchParams({ limit: '200', ...(status ? { status } : {}) });
        setItems((await api.request<EmergencyAccessPage>('GET', `/api/privacy/emergency-access?${query}`)).items);
      }),
    [status],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const review = (entry: EmergencyAccess, verdict: ReviewVerdict) =>
    reportingErrors(setError, async () => {
      const note = notes[entry.id]?.trim() ?? '';
      await api.request<EmergencyAccess>('POST', `/api/privacy/emergency-access/${entry.id}/review`, {
        verdict,
        ...(note ? { note } : {}),
      });
      setNotice(`Access by ${entry.user.name} signed off as ${VERDICT_LABEL[verdict]}.`);
      await load();
    });
  return (
    <div className="admin-panel">
      <div className="filters">
        <label>
          Show{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)} data-testid="emergency-status">
            <option value="pending">to review</option>
            <option value="justified">justified</option>
            <option value="not-justified">not justified</option>
            <option value="">all</option>
          </select>
        </label>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorAlert message={error} />
      <Notice message={notice} testId="emergency-notice" />
      {items && items.length === 0 && <p className="empty">Nothing here.</p>}
      {items && items.length > 0 && (
        <table className="data" data-testid="emergency-table">
          <caption className="sr-only">Emergency accesses</caption>
          <thead>
            <tr>
              <th scope="col">Opened</th>
              <th scope="col">User</th>
              <th scope="col">Patient</th>
              <th scope="col">Study</th>
              <th scope="col">Reason</th>
              <th scope="col">Until</th>
              <th scope="col">Reads</th>
              <th scope="col">Review</th>
            </tr>
          </thead>
          <tbody>
            {items.map((entry) => (
              <tr key={entry.id} data-testid="emergency-row" data-status={entry.reviewStatus}>
                <td>{when(entry.openedAt)}</td>
                <td>
                  {entry.user.name} <span className="muted small">{entry.user.role}</span>
                </td>
                <td>
                  {formatPersonName(entry.patientName)} <span className="muted small">{entry.patientId}</span>
                </td>
                <td>
                  {entry.study.accessionNumber} <span className="muted small">{entry.study.description}</span>
                </td>
                <td className="reason">{entry.reason}</td>
                <td>{when(entry.closedAt ?? entry.expiresAt)}</td>
                <td>{entry.accesses}</td>
                <td>
                  {entry.reviewStatus === 'pending' ? (
                    <div className="review-actions">
                      <label className="sr-only" htmlFor={`note-${entry.id}`}>
                        Note
                      </label>
                      <input
                        id={`note-${entry.id}`}
                        placeholder="Note (optional)"
                        value={notes[entry.id] ?? ''}
                        onChange={(e) => setNotes((n) => ({ ...n, [entry.id]: e.target.value }))}
                      />
                      <button type="button" onClick={() => void review(entry, 'justified')}>
                        Justified
                      </button>
                      <button type="button" onClick={() => void review(entry, 'not-justified')}>
                        Not justified
                      </button>
                    </div>
                  ) : (
                    <span>
                      {VERDICT_LABEL[entry.reviewStatus]} by {entry.reviewedBy?.name ?? '—'}
                      {entry.reviewNote && <span className="muted small"> — {entry.reviewNote}</span>}
                    </span>
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
