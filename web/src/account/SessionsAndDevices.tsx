/**
 * Sessions and devices, for the account page (the user's own) and the admin view (everyone's, or
 * one user's): where the account is signed in, what each device holds offline, and buttons to end a
 * session or revoke a device, which then wipes itself at its next contact ("wiped at …" once it has
 * reported it).
 */
import type { DeviceList, DeviceView, SessionList, SessionView } from '@pacs/shared';
import { useCallback, useEffect, useState } from 'react';
import { reportingErrors } from '../admin/errors';
import { ErrorAlert, Notice } from '../admin/Messages';
import { api } from '../api/client';

export type Scope = { kind: 'own' } | { kind: 'admin'; userId?: string };

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

function holdings(device: DeviceView): string {
  const { studies, reports, worklistRows } = device.holdings;
  if (!device.holdingsReportedAt) return 'not reported yet';
  if (studies + reports + worklistRows === 0) return 'nothing offline';
  return `${studies} studies, ${reports} report copies, ${worklistRows} worklist rows`;
}

function state(device: DeviceView): string {
  if (device.wipedAt) return `Revoked · wiped at ${when(device.wipedAt)}`;
  if (device.revokedAt) return `Revoked at ${when(device.revokedAt)} · wipe pending (at its next contact)`;
  return device.current ? 'Active · this device' : 'Active';
}

export function SessionsAndDevices({ scope }: { scope: Scope }) {
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [sessions, setSessions] = useState<SessionView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const admin = scope.kind === 'admin';
  const userId = scope.kind === 'admin' ? scope.userId : undefined;

  const load = useCallback(
    () =>
      reportingErrors(setError, async () => {
        const query = userId ? `?userId=${encodeURIComponent(userId)}` : '';
        const base = admin ? '/api/admin' : '/api';
        const [d, s] = await Promise.all([
          api.request<DeviceList>('GET', `${base}/devices${query}`),
          api.request<SessionList>('GET', `${base}/sessions${query}`),
        ]);
        setDevices(d.items);
        setSessions(s.items);
      }),
    [admin, userId],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const act = (run: () => Promise<unknown>, done: string) =>
    reportingErrors(setError, async () => {
      await run();
      setNotice(done);
      await load();
    });

  return (
    <div className="sessions-devices">
      <ErrorAlert message={error} />
      <Notice message={notice} testId="sessions-notice" />
      <div className="table-wrap">
        <table className="data" data-testid="devices-table">
          <caption>Devices</caption>
          <thead>
            <tr>
              {admin && <th scope="col">User</th>}
              <th scope="col">Device</th>
              <th scope="col">Last seen</th>
              <th scope="col">Offline data</th>
              <th scope="col">Sessions</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {devices?.length === 0 && (
              <tr>
                <td colSpan={admin ? 7 : 6}>No devices yet.</td>
              </tr>
            )}
            {devices?.map((d) => (
              <tr key={d.id} data-device-id={d.id}>
                {admin && <td>{d.userEmail}</td>}
                <td>{d.label}</td>
                <td>{when(d.lastSeenAt)}</td>
                <td data-testid="device-holdings">{holdings(d)}</td>
                <td>{d.activeSessions}</td>
                <td data-testid="device-state">{state(d)}</td>
                <td>
                  {!d.revokedAt && (
                    <button
                      type="button"
                      onClick={() =>
                        void act(
                          () => api.request('POST', `/api/devices/${d.id}/revoke`),
                          `${d.label} revoked: it is signed out and wipes its offline data at its next contact.`,
                        )
                      }
                    >
                      Revoke device
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="table-wrap">
        <table className="data" data-testid="sessions-table">
          <caption>Active sessions</caption>
          <thead>
            <tr>
              {admin && <th scope="col">User</th>}
              <th scope="col">Device</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last seen</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {sessions?.length === 0 && (
              <tr>
                <td colSpan={admin ? 5 : 4}>No active sessions.</td>
              </tr>
            )}
            {sessions?.map((s) => (
              <tr key={s.id} data-session-id={s.id}>
                {admin && <td>{s.userEmail}</td>}
                <td>
                  {s.deviceLabel}
                  {s.current ? ' (this session)' : ''}
                </td>
                <td>{when(s.createdAt)}</td>
                <td>{when(s.lastSeenAt)}</td>
                <td>
                  <button type="button" onClick={() => void act(() => api.request('DELETE', `/api/sessions/${s.id}`), 'Session ended.')}>
                    End session
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
