/**
 * Single sign-on as configured (read-only: the provider is set in the environment) and the
 * ordered group → role mapping, which the admin edits as one table and saves as a whole.
 */
import { ROLES, type Role } from '@pacs/shared';
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { GroupRoleMapping, GroupRoleMappings, SsoSettingsView } from '../api/types';
import { reportingErrors } from './errors';
import { ErrorAlert, Notice } from './Messages';

export function SingleSignOnPanel() {
  const [settings, setSettings] = useState<SsoSettingsView | null>(null);
  const [rows, setRows] = useState<GroupRoleMapping[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    void reportingErrors(setError, async () => {
      const answer = await api.request<SsoSettingsView>('GET', '/api/sso/settings');
      setSettings(answer);
      setRows(answer.mappings);
    });
  }, []);

  const update = (index: number, change: Partial<GroupRoleMapping>) =>
    setRows(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  const move = (index: number, by: -1 | 1) => {
    const next = [...rows];
    const [row] = next.splice(index, 1);
    next.splice(index + by, 0, row!);
    setRows(next);
  };
  const save = () =>
    reportingErrors(setError, async () => {
      setSaved(null);
      const items = rows.map((row) => ({ group: row.group.trim(), role: row.role })).filter((row) => row.group !== '');
      const answer = await api.request<GroupRoleMappings>('PUT', '/api/sso/group-roles', { items });
      setRows(answer.items);
      setSaved('Mapping saved. It applies at each user’s next sign-in or session refresh.');
    });

  if (!settings) return <ErrorAlert message={error} />;
  if (!settings.enabled) {
    return (
      <section aria-labelledby="sso-title">
        <h2 id="sso-title">Single sign-on</h2>
        <p>Not set up. Set PACS_OIDC_ISSUER and the client settings (see DEPLOYMENT.md) to offer the hospital sign-in.</p>
        <ErrorAlert message={error} />
      </section>
    );
  }
  return (
    <section aria-labelledby="sso-title">
      <h2 id="sso-title">Single sign-on</h2>
      <dl className="facts">
        <dt>Provider</dt>
        <dd>{settings.issuer}</dd>
        <dt>Groups claim</dt>
        <dd>{settings.groupsClaim}</dd>
        <dt>New users</dt>
        <dd>{settings.provisioning === 'automatic' ? 'created active' : 'created inactive until approved under Users'}</dd>
        <dt>E-mail and password sign-in</dt>
        <dd>{settings.localLogin ? 'offered' : 'off'}</dd>
      </dl>
      <h3>Groups → roles</h3>
      <p className="muted">The first listed group a user belongs to gives the role. A user in none of them cannot sign in.</p>
      <table className="data" aria-label="Group to role mapping">
        <thead>
          <tr>
            <th scope="col">Group at the provider</th>
            <th scope="col">Role here</th>
            <th scope="col">Order</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place and reordered by index
            <tr key={index}>
              <td>
                <input
                  aria-label={`Group ${index + 1}`}
                  value={row.group}
                  maxLength={255}
                  onChange={(e) => update(index, { group: e.target.value })}
                />
              </td>
              <td>
                <select
                  aria-label={`Role of group ${index + 1}`}
                  value={row.role}
                  onChange={(e) => update(index, { role: e.target.value as Role })}
                >
                  {ROLES.map((role) => (
                    <option key={role} value={role}>
                      {role}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <button type="button" disabled={index === 0} onClick={() => move(index, -1)} aria-label={`Move group ${index + 1} up`}>
                  ↑
                </button>
                <button
                  type="button"
                  disabled={index === rows.length - 1}
                  onClick={() => move(index, 1)}
                  aria-label={`Move group ${index + 1} down`}
                >
                  ↓
                </button>
                <button type="button" onClick={() => setRows(rows.filter((_, i) => i !== index))} aria-label={`Remove group ${index + 1}`}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" onClick={() => setRows([...rows, { group: '', role: 'resident' }])}>
          Add group
        </button>
        <button type="button" className="primary" onClick={() => void save()}>
          Save mapping
        </button>
      </div>
      <ErrorAlert message={error} />
      <Notice message={saved} testId="sso-saved" />
    </section>
  );
}
