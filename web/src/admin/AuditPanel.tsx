/** Audit log: filters, paging (keyset cursors), CSV export. */
import { AUDIT_ACTIONS, AUDIT_EVENT_IDS, AUDIT_OUTCOMES } from '@pacs/shared';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';
import type { AuditEntry, AuditPage, User, UserPage } from '../api/types';
import { errorText, reportingErrors } from './errors';
import { ErrorAlert } from './Messages';

interface AuditFilter {
  userId: string;
  patientId: string;
  studyUid: string;
  eventId: string;
  action: string;
  outcome: string;
  from: string;
  to: string;
}
const EMPTY_AUDIT: AuditFilter = { userId: '', patientId: '', studyUid: '', eventId: '', action: '', outcome: '', from: '', to: '' };
const OUTCOME_LABEL: Record<number, string> = { 0: 'success', 4: 'minor failure', 8: 'serious failure', 12: 'major failure' };

export function auditParams(filter: AuditFilter, cursor?: string, limit = 50): URLSearchParams {
  const params = new URLSearchParams({ limit: String(limit) });
  for (const key of ['userId', 'patientId', 'studyUid', 'eventId', 'action', 'outcome'] as const) {
    if (filter[key].trim()) params.set(key, filter[key].trim());
  }
  if (filter.from) params.set('from', new Date(filter.from).toISOString());
  if (filter.to) params.set('to', new Date(filter.to).toISOString());
  if (cursor) params.set('cursor', cursor);
  return params;
}

const CSV_COLUMNS = [
  'id',
  'eventDateTime',
  'eventId',
  'action',
  'outcome',
  'userId',
  'userRole',
  'networkAddress',
  'objectType',
  'objectId',
  'patientId',
  'studyUid',
  'requestId',
  'details',
] as const;

export function toCsv(rows: readonly AuditEntry[]): string {
  const cell = (value: unknown) => {
    if (value === null || value === undefined) return '';
    let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    // Spreadsheet formula injection: a leading = + - @ is neutralised.
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n');
}

export function AuditPanel() {
  const [filter, setFilter] = useState<AuditFilter>(EMPTY_AUDIT);
  const [applied, setApplied] = useState<AuditFilter>(EMPTY_AUDIT);
  const [rows, setRows] = useState<AuditEntry[]>([]);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const [users, setUsers] = useState<User[]>([]);
  const page = cursors.length - 1;

  useEffect(() => {
    void api
      .request<UserPage>('GET', '/api/users?limit=500')
      .then((p) => setUsers(p.items))
      .catch(() => undefined);
  }, []);

  const load = useCallback(
    (f: AuditFilter, cursor: string | undefined) =>
      reportingErrors(setError, async () => {
        const result = await api.request<AuditPage>('GET', `/api/audit?${auditParams(f, cursor)}`);
        setRows(result.items);
        setNext(result.nextCursor);
      }),
    [],
  );
  useEffect(() => {
    void load(applied, cursors.at(-1));
  }, [load, applied, cursors]);

  const exportCsv = async () => {
    setExporting(true);
    try {
      const all: AuditEntry[] = [];
      let cursor: string | undefined;
      do {
        const result = await api.request<AuditPage>('GET', `/api/audit?${auditParams(applied, cursor, 500)}`);
        all.push(...result.items);
        cursor = result.nextCursor ?? undefined;
      } while (cursor && all.length < 50_000);
      const blob = new Blob([toCsv(all)], { type: 'text/csv;charset=utf-8' });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `audit-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setExporting(false);
    }
  };

  const field = (key: keyof AuditFilter) => ({
    value: filter[key],
    onChange: (e: { target: { value: string } }) => setFilter({ ...filter, [key]: e.target.value }),
  });
  const userName = (id: string | null) => (id ? (users.find((u) => u.id === id)?.email ?? id.slice(0, 8)) : '—');

  return (
    <div className="admin-panel">
      <form
        className="filters"
        aria-label="Audit filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filter);
          setCursors([undefined]);
        }}
      >
        <label>
          User
          <select {...field('userId')}>
            <option value="">Anyone</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.email}
              </option>
            ))}
          </select>
        </label>
        <label>
          Patient ID
          <input {...field('patientId')} />
        </label>
        <label>
          Study UID
          <input {...field('studyUid')} />
        </label>
        <label>
          Event
          <select {...field('eventId')}>
            <option value="">Any</option>
            {AUDIT_EVENT_IDS.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Action
          <select {...field('action')}>
            <option value="">Any</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome
          <select {...field('outcome')}>
            <option value="">Any</option>
            {AUDIT_OUTCOMES.map((o) => (
              <option key={o} value={String(o)}>
                {o} {OUTCOME_LABEL[o]}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" {...field('from')} />
        </label>
        <label>
          To
          <input type="datetime-local" {...field('to')} />
        </label>
        <button type="submit" className="primary">
          Apply
        </button>
        <button type="button" onClick={() => void exportCsv()} disabled={exporting}>
          {exporting ? 'Exporting…' : 'Export CSV'}
        </button>
      </form>
      <ErrorAlert message={error} />
      <div className="table-wrap">
        <table className="data" data-testid="audit-table">
          <caption className="sr-only">Audit log, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">User</th>
              <th scope="col">Object</th>
              <th scope="col">Patient</th>
              <th scope="col">Address</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id}>
                <td>{new Date(r.eventDateTime).toLocaleString()}</td>
                <td>{r.eventId}</td>
                <td>{r.action}</td>
                <td className={r.outcome === 0 ? '' : 'warn-text'}>{OUTCOME_LABEL[r.outcome] ?? r.outcome}</td>
                <td>
                  {userName(r.userId)} <span className="muted">{r.userRole ?? ''}</span>
                </td>
                <td>
                  {r.objectType ?? ''} <span className="muted">{r.objectId?.slice(0, 8) ?? ''}</span>
                </td>
                <td>{r.patientId ?? ''}</td>
                <td>{r.networkAddress ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Audit pages">
        <button type="button" disabled={page === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Newer
        </button>
        <span>Page {page + 1}</span>
        <button type="button" disabled={!next} onClick={() => next && setCursors((c) => [...c, next])}>
          Older
        </button>
      </nav>
    </div>
  );
}
