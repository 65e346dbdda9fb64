/**
 * One critical result: what was found and how urgent, whom it is for and its clock, how it was
 * acknowledged, its communication record, and what the user may do with it. A referrer acknowledges
 * in the app with one button; a radiologist records who received it and how (by phone, read back).
 */
import {
  CRITICAL_CATEGORY_LABELS,
  CRITICAL_LEVEL_LABELS,
  type CriticalAckChannel,
  type CriticalResult,
  can,
  formatPersonName,
  type Role,
} from '@pacs/shared';
import { type FormEvent, useState } from 'react';
import { errorText } from '../admin/errors';
import { api } from '../api/client';
import type { CriticalAckRequest } from '../api/types';
import { Clock } from './Clock';

const RECORDED_CHANNELS: { value: Exclude<CriticalAckChannel, 'in-app'>; label: string }[] = [
  { value: 'phone', label: 'Phone' },
  { value: 'in-person', label: 'In person' },
  { value: 'secure-message', label: 'Secure message' },
];

const at = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '');

function RecordAcknowledgement({ result, onDone }: { result: CriticalResult; onDone: (next: CriticalResult) => void }) {
  const [channel, setChannel] = useState<Exclude<CriticalAckChannel, 'in-app'>>('phone');
  const [receivedBy, setReceivedBy] = useState(result.recipientName);
  const [readBack, setReadBack] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: CriticalAckRequest = { channel, receivedBy: receivedBy.trim(), ...(channel === 'phone' ? { readBack } : {}) };
    try {
      onDone(await api.request<CriticalResult>('POST', `/api/critical-results/${result.id}/acknowledge`, body));
    } catch (e) {
      setError(errorText(e, 'Acknowledging'));
    }
  };
  return (
    <form className="critical-ack" onSubmit={(e) => void submit(e)} aria-label="Record acknowledgement">
      <label>
        How
        <select value={channel} onChange={(e) => setChannel(e.target.value as typeof channel)}>
          {RECORDED_CHANNELS.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Received by
        <input value={receivedBy} onChange={(e) => setReceivedBy(e.target.value)} required maxLength={200} />
      </label>
      {channel === 'phone' && (
        <label className="inline">
          <input type="checkbox" checked={readBack} onChange={(e) => setReadBack(e.target.checked)} /> Read back by the recipient
        </label>
      )}
      <button type="submit" disabled={!receivedBy.trim() || (channel === 'phone' && !readBack)}>
        Record acknowledgement
      </button>
      {error && <p role="alert">{error}</p>}
    </form>
  );
}

export function CriticalResultCard({
  result,
  role,
  online,
  showPatient,
  highlighted,
  onChange,
}: {
  result: CriticalResult;
  role: Role;
  online: boolean;
  showPatient: boolean;
  highlighted?: boolean;
  onChange: (next: CriticalResult) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [withdrawing, setWithdrawing] = useState(false);
  const [reason, setReason] = useState('');
  const open = result.status === 'open';
  const act = async (path: string, body: object) => {
    try {
      onChange(await api.request<CriticalResult>('POST', `/api/critical-results/${result.id}/${path}`, body));
      setError(null);
    } catch (e) {
      setError(errorText(e, 'Acknowledging'));
    }
  };
  return (
    <article
      className={`critical-card critical-${result.category}${highlighted ? ' highlighted' : ''}`}
      data-testid="critical-result"
      data-status={result.status}
      aria-label={`Critical result, ${result.category}`}
    >
      <header>
        <span className={`badge critical-${result.category}`}>{CRITICAL_CATEGORY_LABELS[result.category]}</span>{' '}
        <strong data-testid="critical-status">{result.status}</strong> <Clock result={result} />
      </header>
      {showPatient && (
        <p>
          {formatPersonName(result.patientName)} <span className="muted">({result.patientId})</span> · {result.studyDescription}{' '}
          <span className="muted">· accession {result.accessionNumber}</span>
        </p>
      )}
      <p className="critical-message">{result.message}</p>
      <p className="muted small">
        Flagged by {result.flaggedByName} at {at(result.flaggedAt)} (the clock started then)
        {result.raisedAt && ` · raised on a device at ${at(result.raisedAt)}`} · for {result.recipientName || 'the ordering physician'}
        {open && result.level > 0 && ` · escalated to the ${CRITICAL_LEVEL_LABELS[result.level]}`}
      </p>
      {!result.recipientReachable && open && (
        <p className="banner warn" role="status">
          No account is linked to the ordering physician: call them, then record the call here.
        </p>
      )}
      {result.status === 'acknowledged' && (
        <p data-testid="critical-ack">
          Acknowledged by {result.receivedBy} ({result.ackChannel}) at {at(result.acknowledgedAt)}
          {result.acknowledgedByName !== result.receivedBy && `, recorded by ${result.acknowledgedByName}`}
        </p>
      )}
      {open && online && role === 'referrer' && (
        <button type="button" className="primary" onClick={() => void act('acknowledge', { channel: 'in-app' })}>
          Acknowledge
        </button>
      )}
      {open && online && role !== 'referrer' && can(role, 'critical:acknowledge') && (
        <RecordAcknowledgement result={result} onDone={onChange} />
      )}
      {open && online && can(role, 'critical:flag') && (
        <div className="critical-withdraw">
          {withdrawing ? (
            <>
              <input aria-label="Why it is withdrawn" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={1000} />
              <button type="button" disabled={!reason.trim()} onClick={() => void act('withdraw', { reason: reason.trim() })}>
                Withdraw
              </button>
            </>
          ) : (
            <button type="button" className="link" onClick={() => setWithdrawing(true)}>
              Raised in error?
            </button>
          )}
        </div>
      )}
      {error && <p role="alert">{error}</p>}
      <details>
        <summary>Communication record ({result.events.length})</summary>
        <ol className="critical-events">
          {result.events.map((event) => (
            <li key={`${event.at}-${event.kind}-${event.channel}-${event.target}`}>
              {at(event.at)} · {event.kind}
              {event.channel && ` (${event.channel})`}
              {event.target && ` → ${event.target}`}
              {event.actorName && ` by ${event.actorName}`}
              {event.detail && ` · ${event.detail}`}
            </li>
          ))}
        </ol>
      </details>
    </article>
  );
}
