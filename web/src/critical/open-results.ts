/**
 * The open critical results, looked up once for every view showing them at the same time (the
 * banner on every page, the dashboard's card): polled while any of them is mounted and the page is
 * visible, forgotten when the last one goes (so another user signing in never sees them).
 */
import type { CriticalResult } from '@pacs/shared';
import { useCallback, useSyncExternalStore } from 'react';
import { api } from '../api/client';
import type { CriticalResultList } from '../api/types';

const POLL_MS = 15_000;

let snapshot: CriticalResult[] | null = null;
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | null = null;

function look(): void {
  if (document.visibilityState !== 'visible') return;
  api
    .request<CriticalResultList>('GET', '/api/critical-results?status=open&limit=200')
    .then((list) => {
      if (listeners.size === 0) return;
      snapshot = list.items;
      for (const listener of listeners) listener();
    })
    .catch(() => undefined);
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (listeners.size === 1) {
    look();
    timer = setInterval(look, POLL_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size > 0) return;
    if (timer) clearInterval(timer);
    timer = null;
    snapshot = null;
  };
}

const noSubscription = () => () => {};

/** The open results (null until the first answer), or null when `enabled` is false. */
export function useOpenCriticalResults(enabled: boolean): CriticalResult[] | null {
  const subscribeIfEnabled = useCallback((listener: () => void) => (enabled ? subscribe(listener) : noSubscription()), [enabled]);
  return useSyncExternalStore(subscribeIfEnabled, () => (enabled ? snapshot : null));
}
