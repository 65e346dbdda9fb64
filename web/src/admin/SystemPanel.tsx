/**
 * System status: alarms an admin must acknowledge (a device whose record of offline reads failed the
 * chain check), health of each part, ingestion cursor and last reconcile, the audit export's backlog
 * and last error.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api/client';
import type { SystemStatus } from '../api/types';
import { reportingErrors } from './errors';
import { ErrorAlert } from './Messages';

export function SystemPanel() {
  const [status, setStatus] = useState<SystemStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    () =>
      reportingErrors(setError, async () => {
        setStatus(await api.request<SystemStatus>('GET', '/api/system/status'));
      }),
    [],
  );
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <div className="admin-panel">
      <button type="button" onClick={() => void load()}>
        Refresh
      </button>
      <ErrorAlert message={error} />
      {status && (
        <>
          {status.alarms.length > 0 && (
            <section className="alarms" aria-label="Alarms" role="alert">
              <h2>Alarms</h2>
              <ul>
                {status.alarms.map((alarm) => (
                  <li key={alarm.deviceId} data-testid="offline-audit-alarm">
                    <strong>Offline reads record broken</strong> on {alarm.deviceLabel} of {alarm.userName}, since{' '}
                    {new Date(alarm.since).toLocaleString()}: {alarm.reason}. Its uploads are refused until acknowledged.{' '}
                    <button
                      type="button"
                      onClick={() =>
                        void reportingErrors(setError, async () => {
                          await api.request('POST', `/api/admin/offline-audit/${encodeURIComponent(alarm.deviceId)}/acknowledge`);
                          await load();
                        })
                      }
                    >
                      Acknowledge
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          )}
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
          <h2>Audit export</h2>
          {status.auditExport ? (
            <dl className="facts" data-testid="audit-export">
              <dt>Audit repository</dt>
              <dd>{status.auditExport.target}</dd>
              <dt>Waiting to be sent</dt>
              <dd className={status.auditExport.pending > 1000 || status.auditExport.lastError ? 'health-down' : undefined}>
                {status.auditExport.pending} audit rows
              </dd>
              <dt>Last error</dt>
              <dd>{status.auditExport.lastError ? `${status.auditExport.lastError} (${status.auditExport.lastErrorAt})` : 'none'}</dd>
            </dl>
          ) : (
            <p className="muted">The audit trail is not exported (no PACS_ATNA_URL): it stays in this system's database.</p>
          )}
        </>
      )}
    </div>
  );
}
