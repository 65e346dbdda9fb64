import { can, formatPersonName, isStudyOpen, PRIORITY_RANK, STUDY_PRIORITIES, STUDY_STATUSES } from '@pacs/shared';
import { useEffect, useMemo, useState } from 'react';
import { api, NetworkError } from '../api/client';
import type { Turnaround, WorklistStudy } from '../api/types';
import { CriticalSummaryCard } from '../critical/CriticalSummaryCard';
import { useWorklist, useWorkspace } from '../device/workspace';
import { formatBytes, readStorage, requestPersistence, type StorageInfo } from '../pwa/storage';
import { Link } from '../router';
import { PRIORITY_LABEL, STATUS_LABEL } from '../worklist/studyActions';

/**
 * Median study-to-final time, last 7 local days, from the API (`/api/dashboard/turnaround`): it
 * knows when each primary report was finally signed, which the device's rows do not. An aggregate
 * without patient data; refetched when the number of final studies on the device changes.
 */
function useTurnaround(finalCount: number) {
  const [figures, setFigures] = useState<Turnaround | null>(null);
  const [error, setError] = useState<string | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: refetch whenever the number of final studies changes
  useEffect(() => {
    let cancelled = false;
    const params = new URLSearchParams({ days: '7', tzOffsetMinutes: String(-new Date().getTimezoneOffset()) });
    api
      .request<Turnaround>('GET', `/api/dashboard/turnaround?${params}`)
      .then((result) => {
        if (cancelled) return;
        setFigures(result);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!cancelled) setError(e instanceof NetworkError ? 'Turnaround needs a connection to the server.' : 'Turnaround is unavailable.');
      });
    return () => {
      cancelled = true;
    };
  }, [finalCount]);
  return { figures, error };
}

const hours = (value: number | null) => (value === null ? '—' : `${value.toFixed(1)} h`);
const weekday = (date: string) => new Date(`${date}T12:00:00`).toLocaleDateString([], { weekday: 'short' });

function TurnaroundCard({ finalCount }: { finalCount: number }) {
  const { figures, error } = useTurnaround(finalCount);
  const max = Math.max(1, ...(figures?.days.map((d) => d.medianHours ?? 0) ?? []));
  return (
    <section className="card" aria-labelledby="tat-title" data-testid="turnaround">
      <h2 id="tat-title">Turnaround, last 7 days</h2>
      {figures ? (
        <>
          <p>
            Median study-to-final:{' '}
            <strong data-testid="turnaround-median">
              {figures.medianHours === null ? 'no final reports' : hours(figures.medianHours)}
            </strong>{' '}
            <span className="muted">({figures.count} studies)</span>
          </p>
          <ul className="bars">
            {figures.days.map((d) => (
              <li key={d.date}>
                <span className="bar-label">{weekday(d.date)}</span>
                <span className="bar-track" aria-hidden="true">
                  <span className="bar-fill" style={{ width: `${((d.medianHours ?? 0) / max) * 100}%` }} />
                </span>
                <span className="bar-value">
                  {hours(d.medianHours)}
                  {d.count > 0 && <span className="sr-only"> ({d.count} studies)</span>}
                </span>
              </li>
            ))}
          </ul>
          <p className="muted small">From study arrival to the final signature of its report.</p>
        </>
      ) : (
        <p className="muted">{error ?? 'Loading…'}</p>
      )}
    </section>
  );
}

function Bars({ title, data }: { title: string; data: { label: string; value: number; tone?: string }[] }) {
  const max = Math.max(1, ...data.map((d) => d.value));
  return (
    <section className="card" aria-labelledby={`bars-${title}`}>
      <h2 id={`bars-${title}`}>{title}</h2>
      <ul className="bars">
        {data.map((d) => (
          <li key={d.label}>
            <span className="bar-label">{d.label}</span>
            <span className="bar-track" aria-hidden="true">
              <span className={`bar-fill ${d.tone ?? ''}`} style={{ width: `${(d.value / max) * 100}%` }} />
            </span>
            <span className="bar-value">{d.value}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function StudyList({ rows, empty }: { rows: WorklistStudy[]; empty: string }) {
  if (rows.length === 0) return <p className="muted">{empty}</p>;
  return (
    <ul className="study-list">
      {rows.slice(0, 8).map((r) => (
        <li key={r.id}>
          <span className={`badge prio-${r.priority}`}>{PRIORITY_LABEL[r.priority]}</span> {formatPersonName(r.patientName)}{' '}
          <span className="muted">
            {r.description} · {r.modalities.join('/')} · {STATUS_LABEL[r.status]}
          </span>
        </li>
      ))}
      {rows.length > 8 && <li className="muted">and {rows.length - 8} more</li>}
    </ul>
  );
}

export function DashboardPage() {
  const { user } = useWorkspace();
  const { rows, loaded } = useWorklist();
  const [storage, setStorage] = useState<StorageInfo | null>(null);
  useEffect(() => {
    void readStorage().then(setStorage);
  }, []);

  const stats = useMemo(() => {
    const byModality = new Map<string, number>();
    for (const r of rows) for (const m of r.modalities) byModality.set(m, (byModality.get(m) ?? 0) + 1);
    const byReceived = (a: WorklistStudy, b: WorklistStudy) =>
      PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || a.receivedAt.localeCompare(b.receivedAt);
    return {
      status: STUDY_STATUSES.map((s) => ({ label: STATUS_LABEL[s], value: rows.filter((r) => r.status === s).length })),
      priority: STUDY_PRIORITIES.map((p) => ({
        label: PRIORITY_LABEL[p],
        value: rows.filter((r) => r.priority === p).length,
        tone: `prio-${p}`,
      })),
      modality: [...byModality.entries()].sort((a, b) => b[1] - a[1]).map(([label, value]) => ({ label, value })),
      mine: rows.filter((r) => r.assignee?.id === user.id && isStudyOpen(r.status)).sort(byReceived),
      unassignedStat: rows.filter((r) => r.priority === 'stat' && !r.assignee && isStudyOpen(r.status)).sort(byReceived),
      finalCount: rows.filter((r) => !isStudyOpen(r.status)).length,
    };
  }, [rows, user.id]);

  return (
    <section className="page" aria-labelledby="dash-title">
      <div className="page-head">
        <h1 id="dash-title">Dashboard</h1>
        <span className="muted">{loaded ? `${rows.length} studies on this device` : 'Loading…'}</span>
      </div>
      <div className="grid">
        <section className="card" aria-labelledby="mine-title">
          <h2 id="mine-title">My queue ({stats.mine.length})</h2>
          <StudyList rows={stats.mine} empty="Nothing assigned to you." />
          <Link href="/worklist">Open the worklist</Link>
          {can(user.role, 'teaching:read') && (
            <p>
              <Link href="/teaching">Teaching file: signed reports and the attending's changes</Link>
            </p>
          )}
        </section>
        <section className="card" aria-labelledby="stat-title">
          <h2 id="stat-title">Unassigned STAT ({stats.unassignedStat.length})</h2>
          <StudyList rows={stats.unassignedStat} empty="No unassigned STAT studies." />
        </section>
        <CriticalSummaryCard role={user.role} />
        <Bars title="By status" data={stats.status} />
        <Bars title="By priority" data={stats.priority} />
        <Bars title="By modality" data={stats.modality} />
        <TurnaroundCard finalCount={stats.finalCount} />
        <section className="card" aria-labelledby="storage-title">
          <h2 id="storage-title">This device</h2>
          <p data-testid="storage-usage">
            Storage used: {formatBytes(storage?.usage ?? null)} of {formatBytes(storage?.quota ?? null)}
          </p>
          <p>
            Persistent storage:{' '}
            {storage?.persisted === null || storage === null
              ? 'unknown'
              : storage.persisted
                ? 'granted'
                : 'not granted (the browser may evict data)'}
          </p>
          {/* Only where the browser answered "not granted": WebKitGTK has no StorageManager, and a button that cannot ask would do nothing. */}
          {storage?.persisted === false && (
            <button type="button" onClick={() => void requestPersistence().then(() => readStorage().then(setStorage))}>
              Ask to keep data
            </button>
          )}
        </section>
      </div>
    </section>
  );
}
