/** Always-visible sync status of a report: live / offline / syncing, unsent changes, last save. */
import type { LinkState } from './connection';

export interface StatusIndicatorProps {
  link: LinkState;
  pending: number | null;
  lastSavedAt: number | null;
  lockedAt: string | null;
  loaded: boolean;
  /** Every local change is committed to this device's storage. */
  onDevice?: boolean;
  /** Set when the server stopped applying edits while the report was open (submitted, taken over, access withdrawn). */
  readOnlyReason?: string | null;
}

const LABEL: Record<LinkState, string> = { live: 'Live', offline: 'Offline', connecting: 'Connecting…', syncing: 'Syncing…' };

export function pendingText(pending: number | null, lockedAt: string | null, readOnly = false): string {
  if (pending === null) return 'Not yet compared with the server';
  if (pending === 0) return 'All changes on the server';
  const n = `${pending} ${pending === 1 ? 'change' : 'changes'}`;
  if (lockedAt) return `${n} not applied: the report was signed`;
  return readOnly ? `${n} not applied: the report became read-only` : `${n} not yet on the server`;
}

export function StatusIndicator({
  link,
  pending,
  lastSavedAt,
  lockedAt,
  loaded,
  onDevice = true,
  readOnlyReason = null,
}: StatusIndicatorProps) {
  const warn = pending !== null && pending > 0 && (lockedAt !== null || readOnlyReason !== null);
  return (
    <div className="report-status" data-link={link} data-testid="report-status">
      <output className="report-link" aria-live="polite" data-testid="report-link" data-state={link}>
        <span className="dot" aria-hidden="true" />
        {loaded ? LABEL[link] : 'Opening…'}
      </output>
      <span className={warn ? 'report-pending warn' : 'report-pending'} data-testid="report-pending" data-count={pending ?? ''}>
        {pendingText(pending, lockedAt, readOnlyReason !== null)}
      </span>
      {readOnlyReason && (
        <span className="report-read-only" data-testid="report-read-only">
          {readOnlyReason}
        </span>
      )}
      <span className="report-saved muted" data-testid="report-saved" data-on-device={String(onDevice)}>
        {lastSavedAt ? `Last saved ${new Date(lastSavedAt).toLocaleTimeString()}` : 'Not saved from this device yet'}
        {onDevice ? '' : ' · storing on this device…'}
      </span>
    </div>
  );
}
