/**
 * Service worker registration through workbox-window. A new version never replaces the running
 * code by itself: it waits, the app shows "a new version is ready — reload", and only the user's
 * click tells it to take over (then the page reloads once).
 */
import { Workbox } from 'workbox-window';

type Listener = () => void;
let updateReady = false;
let workbox: Workbox | null = null;
const listeners = new Set<Listener>();

export const pwa = {
  isUpdateReady: () => updateReady,
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  /** Activate the waiting worker and reload once it controls the page. */
  applyUpdate(): void {
    if (!workbox) return;
    workbox.addEventListener('controlling', () => window.location.reload());
    workbox.messageSkipWaiting();
  },
};

export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return;
  workbox = new Workbox('/sw.js', { scope: '/' });
  workbox.addEventListener('waiting', () => {
    updateReady = true;
    for (const listener of listeners) listener();
  });
  void workbox.register().catch(() => undefined);
  // Check for a new version now and then while the app stays open (tablets run for days).
  setInterval(() => void workbox?.update().catch(() => undefined), 30 * 60_000);
}
