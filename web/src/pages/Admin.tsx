/** Admin view (role admin only; the API enforces the same through `can()`). Online only. */
import { AUDIT_ACTIONS, AUDIT_EVENT_IDS, AUDIT_OUTCOMES, can, ROLES, type Role } from '@pacs/shared';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { ApiError, api, NetworkError } from '../api/client';
import type { AuditEntry, AuditPage, SystemStatus, User, UserPage } from '../api/types';
import { navigate, usePath } from '../router';
import { useWorkspace } from '../workspace';

const TABS = [
  { id: 'users', label: 'Users' },
  { id: 'audit', label: 'Audit log' },
  { id: 'templates', label: 'Report templates' },
  { id: 'system', label: 'System status' },
] as const;

function errorText(error: unknown): string {
  if (error instanceof NetworkError) return 'The admin view needs a connection to the server.';
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong.';
}

export default function AdminPage() {
  const { user } = useWorkspace();
  const path = usePath();
  const tab = TABS.find((t) => path === `/admin/${t.id}`)?.id ?? 'users';
  if (!can(user.role, 'user:manage')) {
    return (
      <section className="page">
        <h1>Not allowed</h1>
      </section>
    );
  }
  return (
    <section className="page" aria-labelledby="admin-title">
      <h1 id="admin-title">Admin</h1>
      <div className="tabs" role="tablist" aria-label="Admin sections">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            onClick={() => navigate(`/admin/${t.id}`)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'users' && <UsersPanel me={user} />}
        {tab === 'audit' && <AuditPanel />}
        {tab === 'templates' && <TemplatesPanel />}
        {tab === 'system' && <SystemPanel />}
      </div>
    </section>
  );
}

// ------------------------------------------------------------------ users

function UsersPanel({ me }: { me: User }) {
  const [users, setUsers] = useState<User[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [q, setQ] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [resetFor, setResetFor] = useState<User | null>(null);

  const load = useCallback(async (query: string, cursor?: string) => {
    try {
      const params = new URLSearchParams({ limit: '100' });
      if (query) params.set('q', query);
      if (cursor) params.set('cursor', cursor);
      const page = await api.request<UserPage>('GET', `/api/users?${params}`);
      setUsers((prev) => (cursor ? [...prev, ...page.items] : page.items));
      setNext(page.nextCursor);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => {
    void load(q);
  }, [load, q]);

  const patch = async (user: User, body: { role?: Role; active?: boolean }) => {
    try {
      const updated = await api.request<User>('PATCH', `/api/users/${user.id}`, body);
      setUsers((list) => list.map((u) => (u.id === updated.id ? updated : u)));
      setNotice(`${updated.name} updated.`);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <div className="admin-panel">
      <CreateUser
        onCreated={(u) => {
          setUsers((list) => [u, ...list.filter((x) => x.id !== u.id)]);
          setNotice(`User ${u.email} created.`);
        }}
      />
      <div className="filters">
        <label className="grow">
          Find users
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name or email" />
        </label>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {notice && (
        <output className="notice" data-testid="admin-notice">
          {notice}
        </output>
      )}
      {resetFor && (
        <ResetPassword
          user={resetFor}
          onDone={(msg) => {
            setResetFor(null);
            if (msg) setNotice(msg);
          }}
        />
      )}
      <div className="table-wrap">
        <table className="data" data-testid="users-table">
          <caption className="sr-only">Users</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Active</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id} data-email={u.email}>
                <td>{u.name}</td>
                <td>{u.email}</td>
                <td>
                  <select
                    aria-label={`Role of ${u.name}`}
                    value={u.role}
                    disabled={u.id === me.id}
                    onChange={(e) => void patch(u, { role: e.target.value as Role })}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{u.active ? 'yes' : 'no'}</td>
                <td className="actions">
                  <button type="button" disabled={u.id === me.id} onClick={() => void patch(u, { active: !u.active })}>
                    {u.active ? 'Deactivate' : 'Reactivate'}
                  </button>
                  <button type="button" onClick={() => setResetFor(u)}>
                    Reset password
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {next && (
        <button type="button" onClick={() => void load(q, next)}>
          Load more
        </button>
      )}
    </div>
  );
}

function CreateUser({ onCreated }: { onCreated: (user: User) => void }) {
  const [form, setForm] = useState({ email: '', name: '', role: 'resident' as Role, password: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const created = await api.request<User>('POST', '/api/users', form);
      onCreated(created);
      setForm({ email: '', name: '', role: 'resident', password: '' });
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-labelledby="create-user-title">
      <h2 id="create-user-title">Create a user</h2>
      <label>
        Email
        <input type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
      </label>
      <label>
        Name
        <input required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
      </label>
      <label>
        Role
        <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <label>
        Initial password (12+ characters)
        <input
          type="password"
          autoComplete="new-password"
          minLength={12}
          required
          value={form.password}
          onChange={(e) => setForm({ ...form, password: e.target.value })}
        />
      </label>
      <button type="submit" className="primary" disabled={busy}>
        Create user
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function ResetPassword({ user, onDone }: { user: User; onDone: (message: string | null) => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api.request('POST', `/api/users/${user.id}/password`, { password });
      onDone(`Password of ${user.email} reset; their sessions have ended.`);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-labelledby="reset-title">
      <h2 id="reset-title">Reset password of {user.name}</h2>
      <label>
        New password (12+ characters)
        <input
          type="password"
          autoComplete="new-password"
          minLength={12}
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <button type="submit" className="primary">
        Reset
      </button>
      <button type="button" onClick={() => onDone(null)}>
        Cancel
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

// ------------------------------------------------------------------ audit

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

function AuditPanel() {
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

  const load = useCallback(async (f: AuditFilter, cursor: string | undefined) => {
    try {
      const result = await api.request<AuditPage>('GET', `/api/audit?${auditParams(f, cursor)}`);
      setRows(result.items);
      setNext(result.nextCursor);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
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
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
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

// ------------------------------------------------------------------ templates & system

function TemplatesPanel() {
  return (
    <div className="admin-panel">
      <p className="placeholder">
        Report templates (create, edit, retire) are not built in the web app yet. The API side arrived with issue 5 (
        <code>GET/POST /api/templates</code>, <code>PATCH /api/templates/:id</code>); this tab is where their editor goes.
      </p>
    </div>
  );
}

function SystemPanel() {
  const [status, setStatus] = useState<SystemStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      setStatus(await api.request<SystemStatus>('GET', '/api/system/status'));
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <div className="admin-panel">
      <button type="button" onClick={() => void load()}>
        Refresh
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {status && (
        <>
          <p>
            Overall: <strong className={`health-${status.health.status}`}>{status.health.status}</strong>
          </p>
          <table className="data" data-testid="system-table">
            <caption className="sr-only">Health checks</caption>
            <thead>
              <tr>
                <th scope="col">Part</th>
                <th scope="col">Status</th>
                <th scope="col">Latency</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(status.health.checks).map(([name, check]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td className={`health-${check.status}`}>{check.status}</td>
                  <td>{check.latencyMs !== undefined ? `${check.latencyMs} ms` : '—'}</td>
                  <td>{check.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Ingestion</h2>
          {status.ingestion ? (
            <dl className="facts">
              <dt>Orthanc change cursor</dt>
              <dd>{status.ingestion.cursor}</dd>
              <dt>Last reconcile</dt>
              <dd>{status.ingestion.lastRunAt ?? 'never'}</dd>
              <dt>Last success</dt>
              <dd>{status.ingestion.lastSuccessAt ?? 'never'}</dd>
              <dt>Last error</dt>
              <dd>{status.ingestion.lastError ?? 'none'}</dd>
              <dt>Ingested / deleted</dt>
              <dd>
                {status.ingestion.ingested} / {status.ingestion.deleted}
              </dd>
            </dl>
          ) : (
            <p className="muted">
              Ingestion is not configured on this API (no Orthanc URL). Sync-server health is not reported by the API yet.
            </p>
          )}
        </>
      )}
    </div>
  );
}
