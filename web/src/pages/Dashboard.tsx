import { formatPersonName, PRIORITY_RANK, STUDY_PRIORITIES, STUDY_STATUSES } from '@pacs/shared';
import { useEffect, useMemo, useState } from 'react';
import type { WorklistStudy } from '../api/types';
import { PRIORITY_LABEL, STATUS_LABEL } from '../components/studyActions';
import { formatBytes, readStorage, requestPersistence, type StorageInfo } from '../pwa/storage';
import { Link } from '../router';
import { useWorklist, useWorkspace } from '../workspace';

const DAY = 86_400_000;

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Study-to-final time from what the device has: the API exposes no finalisation timestamp yet,
 * so a final study's `updatedAt` stands in for it (a later change to a final study would stretch it).
 */
export function turnaround(rows: readonly WorklistStudy[], now = Date.now()) {
  const days: { day: string; hours: number | null; n: number }[] = [];
  const all: number[] = [];
  for (let d = 6; d >= 0; d--) {
    const start = new Date(now - d * DAY);
    start.setHours(0, 0, 0, 0);
    const end = start.getTime() + DAY;
    const hours = rows
      .filter((r) => r.status === 'final')
      .filter((r) => {
        const t = Date.parse(r.updatedAt);
        return t >= start.getTime() && t < end;
      })
      .map((r) => (Date.parse(r.updatedAt) - Date.parse(r.receivedAt)) / 3_600_000);
    all.push(...hours);
    days.push({ day: start.toLocaleDateString([], { weekday: 'short' }), hours: median(hours), n: hours.length });
  }
  return { days, overall: median(all), n: all.length };
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
      mine: rows.filter((r) => r.assignee?.id === user.id && r.status !== 'final').sort(byReceived),
      unassignedStat: rows.filter((r) => r.priority === 'stat' && !r.assignee && r.status !== 'final').sort(byReceived),
      tat: turnaround(rows),
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
        </section>
        <section className="card" aria-labelledby="stat-title">
          <h2 id="stat-title">Unassigned STAT ({stats.unassignedStat.length})</h2>
          <StudyList rows={stats.unassignedStat} empty="No unassigned STAT studies." />
        </section>
        <Bars title="By status" data={stats.status} />
        <Bars title="By priority" data={stats.priority} />
        <Bars title="By modality" data={stats.modality} />
        <section className="card" aria-labelledby="tat-title">
          <h2 id="tat-title">Turnaround, last 7 days</h2>
          <p>
            Median study-to-final: <strong>{stats.tat.overall === null ? 'no final studies' : `${stats.tat.overall.toFixed(1)} h`}</strong>{' '}
            <span className="muted">({stats.tat.n} studies)</span>
          </p>
          <ul className="bars">
            {stats.tat.days.map((d) => (
              <li key={d.day}>
                <span className="bar-label">{d.day}</span>
                <span className="bar-track" aria-hidden="true">
                  <span className="bar-fill" style={{ width: `${Math.min(100, ((d.hours ?? 0) / 48) * 100)}%` }} />
                </span>
                <span className="bar-value">{d.hours === null ? '—' : `${d.hours.toFixed(1)} h`}</span>
              </li>
            ))}
          </ul>
          <p className="muted small">
            Approximate: computed on this device from final studies' last update time (the API has no finalisation timestamp yet).
          </p>
        </section>
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
          {storage && !storage.persisted && (
            <button type="button" onClick={() => void requestPersistence().then(() => readStorage().then(setStorage))}>
              Ask to keep data
            </button>
          )}
        </section>
      </div>
    </section>
  );
}
