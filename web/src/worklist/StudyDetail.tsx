import { formatPersonName, type StudyPriority, type StudyStatus } from '@pacs/shared';
import { useEffect, useState } from 'react';
import { api, NetworkError } from '../api/client';
import type { DeviceStudy, StudyDetail, WorklistStudy } from '../api/types';
import type { CachedDetail } from '../device/db';
import { isQuotaError } from '../device/engine';
import { useWorkspace } from '../device/workspace';
import { holdOpened, REASON_LABEL, setFollowed } from './held-on-device';
import {
  assignTo,
  assignToMe,
  canAssignOthers,
  canAssignSelf,
  PRIORITY_LABEL,
  priorityTargets,
  STATUS_LABEL,
  setPriority,
  setStatus,
  statusTargets,
  unassign,
} from './studyActions';
import { useAssignable } from './use-assignable';

/** `onDevice`: whether this device holds the study (else it came from a search of the archive). */
export function StudyDetailPanel({ study, onDevice, onClose }: { study: WorklistStudy; onDevice: boolean; onClose: () => void }) {
  const { user, engine, db } = useWorkspace();
  const [detail, setDetail] = useState<CachedDetail | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [followNote, setFollowNote] = useState<string | null>(null);
  const reasons = (study as DeviceStudy).scope ?? [];
  const followed = reasons.includes('followed');

  useEffect(() => {
    let cancelled = false;
    setDetail(null);
    setNote(null);
    void (async () => {
      const cached = await db.sealed.details.get(study.id);
      if (!cancelled && cached) setDetail(cached);
      try {
        const fresh = await api.request<StudyDetail>('GET', `/api/studies/${study.id}`);
        const entry: CachedDetail = { ...fresh, id: study.id, cachedAt: new Date().toISOString() };
        if (!cancelled) setDetail(entry);
        // Opened from a search: the server recorded the opening, so the study now belongs on the device.
        if (!onDevice) await holdOpened(engine, study.id).catch(() => undefined);
        await db.sealed.details.put(entry).catch((e: unknown) => {
          if (isQuotaError(e)) setNote('Device storage is full: series details were not saved for offline use.');
        });
      } catch (error) {
        if (!cancelled && error instanceof NetworkError)
          setNote(cached ? 'Offline: series from this device.' : 'Offline: series list not on this device.');
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [study.id, db, engine, onDevice]);

  const mine = study.assignee?.id === user.id;
  const assignable = useAssignable(canAssignOthers(user)).filter((u) => u.id !== study.assignee?.id);
  const statuses = statusTargets(user, study);
  const priorities = priorityTargets(user, study);
  return (
    <aside className="card detail" aria-labelledby="detail-title" data-testid="study-detail">
      <div className="detail-head">
        <h2 id="detail-title">{formatPersonName(study.patientName)}</h2>
        <button type="button" onClick={onClose} aria-label="Close details">
          Close
        </button>
      </div>
      <dl className="facts">
        <dt>Patient ID</dt>
        <dd>{study.patientId}</dd>
        <dt>Birth date / sex</dt>
        <dd>
          {study.patientBirthDate ?? '—'} / {study.patientSex ?? '—'}
        </dd>
        <dt>Accession</dt>
        <dd>{study.accessionNumber}</dd>
        <dt>Study</dt>
        <dd>
          {study.description || '—'} ({study.modalities.join('/')}, {study.bodyPart || 'body part n/a'})
        </dd>
        <dt>Indication</dt>
        <dd>{study.indication || '—'}</dd>
        {study.orderMatch === 'unmatched' && (
          <>
            <dt>Order</dt>
            <dd>none matched yet: the images came without an order, for an admin or technologist to reconcile</dd>
          </>
        )}
        <dt>Referring</dt>
        <dd>{study.referringPhysician ? formatPersonName(study.referringPhysician) : '—'}</dd>
        <dt>Priority / status</dt>
        <dd>
          {PRIORITY_LABEL[study.priority]} / {STATUS_LABEL[study.status]}
        </dd>
        <dt>Assignee</dt>
        <dd>{study.assignee?.name ?? 'unassigned'}</dd>
        <dt>Received</dt>
        <dd>{new Date(study.receivedAt).toLocaleString()}</dd>
        <dt>On this device</dt>
        <dd data-testid="held-reasons">{onDevice ? reasons.map((r) => REASON_LABEL[r]).join(', ') || 'yes' : 'no (found by a search)'}</dd>
      </dl>
      <div className="actions wrap">
        {canAssignSelf(user) &&
          (mine ? (
            <button type="button" onClick={() => void unassign(engine, study)}>
              Unassign me
            </button>
          ) : (
            <button type="button" className="primary" onClick={() => void assignToMe(engine, user, study)}>
              Assign to me
            </button>
          ))}
        {assignable.length > 0 && (
          <label>
            Assign to
            <select
              value=""
              onChange={(e) => {
                const chosen = assignable.find((u) => u.id === e.target.value);
                if (chosen) void assignTo(engine, study, chosen);
              }}
            >
              <option value="">Choose…</option>
              {assignable.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name} ({u.role})
                </option>
              ))}
            </select>
          </label>
        )}
        {priorities.length > 0 && (
          <label>
            Priority
            <select
              value=""
              onChange={(e) => {
                if (e.target.value) void setPriority(engine, study, e.target.value as StudyPriority);
              }}
            >
              <option value="">Change…</option>
              {priorities.map((p) => (
                <option key={p} value={p}>
                  {PRIORITY_LABEL[p]}
                </option>
              ))}
            </select>
          </label>
        )}
        {statuses.length > 0 && (
          <label>
            Status
            <select
              value=""
              onChange={(e) => {
                if (e.target.value) void setStatus(engine, study, e.target.value as StudyStatus);
              }}
            >
              <option value="">Change…</option>
              {statuses.map((s) => (
                <option key={s} value={s}>
                  {STATUS_LABEL[s]}
                </option>
              ))}
            </select>
          </label>
        )}
        <button
          type="button"
          aria-pressed={followed}
          title="A followed study stays on your devices, offline too"
          onClick={() =>
            void setFollowed(engine, study.id, !followed)
              .then(() => setFollowNote(null))
              .catch(() => setFollowNote('Following needs the network.'))
          }
        >
          {followed ? 'Unfollow' : 'Follow'}
        </button>
        {followNote && (
          <span className="error small" role="alert">
            {followNote}
          </span>
        )}
        <a className="button" href={`/viewer?study=${study.id}`}>
          Open in viewer
        </a>
      </div>
      <h3>Series</h3>
      {note && <p className="muted">{note}</p>}
      {detail ? (
        <ul className="series">
          {detail.series.map((s) => (
            <li key={s.id}>
              <span className="badge">{s.modality}</span> #{s.seriesNumber ?? '—'} {s.description || '(no description)'}{' '}
              <span className="muted">{s.numberOfInstances} images</span>
            </li>
          ))}
          {detail.series.length === 0 && <li className="muted">No series.</li>}
        </ul>
      ) : (
        !note && <p className="muted">Loading series…</p>
      )}
    </aside>
  );
}
