import { useSyncExternalStore } from 'react';
import { session } from '../auth/session';
import { useSyncStatus, useWorklist, useWorkspace } from '../device/workspace';

function time(iso: string | null): string {
  if (!iso) return 'never';
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : date.toLocaleString();
}

export function ConnectionIndicator() {
  const { engine } = useWorkspace();
  const status = useSyncStatus();
  const { outbox } = useWorklist();
  const mode = useSyncExternalStore(session.subscribe, session.get, session.get).mode;
  const pending = outbox.filter((e) => e.state === 'pending' || e.state === 'sending').length;
  const attention = outbox.length - pending;
  const state = !status.online || mode === 'offline' ? 'offline' : status.syncing ? 'syncing' : 'online';
  const label = state === 'offline' ? 'Offline' : state === 'syncing' ? 'Syncing' : 'Online';
  return (
    <div
      className="connection"
      data-state={state}
      data-live={status.live}
      data-nudges={status.nudges}
      data-testid="connection"
      title={`${label}, ${status.live ? 'live' : 'polling'}; synced ${time(status.lastSyncedAt)}`}
    >
      <output className="connection-state" aria-live="polite" data-testid="connection-state">
        <span className="dot" aria-hidden="true" />
        {label}
      </output>
      {state !== 'offline' && (
        <span
          className="muted live"
          title={status.live ? 'Changes arrive as they happen' : 'Live updates unavailable: checking every 30 s'}
          data-testid="live-state"
        >
          {status.live ? 'live' : 'polling'}
        </span>
      )}
      <span className="pending" data-testid="pending-count" data-count={pending}>
        {pending} pending
      </span>
      {attention > 0 && (
        <a className="attention" href="#outbox-issues">
          {attention} need attention
        </a>
      )}
      <span className="muted last-synced" data-testid="last-synced">
        synced {time(status.lastSyncedAt)}
      </span>
      <button type="button" onClick={() => void engine.syncNow()} disabled={state === 'offline'} aria-keyshortcuts="Alt+S">
        Sync now
      </button>
    </div>
  );
}
