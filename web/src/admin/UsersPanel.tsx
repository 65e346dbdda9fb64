/**
 * Users: list and find, create, change role, deactivate / reactivate, reset password, and link a
 * referrer to the hospital's provider id (what their orders name as the ordering physician), and
 * see one user's sessions and devices (end one, revoke one).
 */
import { ROLES, type Role } from '@pacs/shared';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { SessionsAndDevices } from '../account/SessionsAndDevices';
import { api } from '../api/client';
import type { User, UserPage } from '../api/types';
import { errorText, reportingErrors } from './errors';
import { ErrorAlert, Notice } from './Messages';

export function UsersPanel({ me }: { me: User }) {
  const [users, setUsers] = useState<User[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [q, setQ] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [resetFor, setResetFor] = useState<User | null>(null);
  const [devicesOf, setDevicesOf] = useState<User | null>(null);

  const load = useCallback(
    (query: string, cursor?: string) =>
      reportingErrors(setError, async () => {
        const params = new URLSearchParams({ limit: '100' });
        if (query) params.set('q', query);
        if (cursor) params.set('cursor', cursor);
        const page = await api.request<UserPage>('GET', `/api/users?${params}`);
        setUsers((prev) => (cursor ? [...prev, ...page.items] : page.items));
        setNext(page.nextCursor);
      }),
    [],
  );
  useEffect(() => {
    void load(q);
  }, [load, q]);

  const patch = (user: User, body: { role?: Role; active?: boolean; providerId?: string }) =>
    reportingErrors(setError, async () => {
      const updated = await api.request<User>('PATCH', `/api/users/${user.id}`, body);
      setUsers((list) => list.map((u) => (u.id === updated.id ? updated : u)));
      setNotice(`${updated.name} updated.`);
    });

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
      <ErrorAlert message={error} />
      <Notice message={notice} testId="admin-notice" />
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
              <th scope="col">Provider id</th>
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
                    <RoleOptions />
                  </select>
                </td>
                <td>
                  {(u.role === 'referrer' || u.providerId) && (
                    <input
                      aria-label={`Provider id of ${u.name}`}
                      defaultValue={u.providerId}
                      maxLength={64}
                      pattern="[A-Za-z0-9._\-]*"
                      onBlur={(e) => {
                        if (e.target.value !== u.providerId && e.target.checkValidity()) void patch(u, { providerId: e.target.value });
                      }}
                    />
                  )}
                </td>
                <td>{u.active ? 'yes' : u.approvalPending ? <span className="badge">awaiting approval</span> : 'no'}</td>
                <td className="actions">
                  <button type="button" disabled={u.id === me.id} onClick={() => void patch(u, { active: !u.active })}>
                    {u.active ? 'Deactivate' : u.approvalPending ? 'Approve' : 'Reactivate'}
                  </button>
                  <button type="button" onClick={() => setResetFor(u)}>
                    Reset password
                  </button>
                  <button
                    type="button"
                    onClick={() =>
                      void reportingErrors(setError, async () => {
                        await api.request('POST', `/api/users/${u.id}/mfa/reset`);
                        setNotice(`Second factor of ${u.email} reset: they set up a new one at their next sign-in.`);
                      })
                    }
                  >
                    Reset second factor
                  </button>
                  <button
                    type="button"
                    aria-pressed={devicesOf?.id === u.id}
                    onClick={() => setDevicesOf(devicesOf?.id === u.id ? null : u)}
                  >
                    Sessions and devices
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
      {devicesOf && (
        <section aria-label={`Sessions and devices of ${devicesOf.name}`}>
          <h2>Sessions and devices of {devicesOf.name}</h2>
          <SessionsAndDevices key={devicesOf.id} scope={{ kind: 'admin', userId: devicesOf.id }} />
        </section>
      )}
    </div>
  );
}

function CreateUser({ onCreated }: { onCreated: (user: User) => void }) {
  const empty = { email: '', name: '', role: 'resident' as Role, password: '', providerId: '' };
  const [form, setForm] = useState(empty);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const { providerId, ...rest } = form;
      const created = await api.request<User>('POST', '/api/users', form.role === 'referrer' ? form : rest);
      onCreated(created);
      setForm(empty);
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
          <RoleOptions />
        </select>
      </label>
      {form.role === 'referrer' && (
        <label>
          Provider id (ORC-12 of their orders)
          <input
            required
            maxLength={64}
            pattern="[A-Za-z0-9._\-]+"
            value={form.providerId}
            onChange={(e) => setForm({ ...form, providerId: e.target.value })}
          />
        </label>
      )}
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
      <ErrorAlert message={error} />
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
      <ErrorAlert message={error} />
    </form>
  );
}

function RoleOptions() {
  return ROLES.map((r) => (
    <option key={r} value={r}>
      {r}
    </option>
  ));
}
