/**
 * Service worker registration through workbox-window. A new version never replaces the running
 * code by itself: it waits, the app shows "a new version is ready — reload", and only the user's
 * click tells it to take over (then the page reloads once).
 */
import { Workbox } from 'workbox-window';

type Listener = () => void;
type UpdateState = 'none' | 'ready' | 'applying';
let state: UpdateState = 'none';
let workbox: Workbox | null = null;
let registration: ServiceWorkerRegistration | null = null;
const listeners = new Set<Listener>();

/** If the new worker has not taken over by then, the page reloads anyway (and offers the update again). */
const GIVE_UP_MS = 15_000;

function setState(next: UpdateState): void {
  state = next;
  for (const listener of listeners) listener();
}

export const pwa = {
  isUpdateReady: () => state === 'ready',
  /** The user asked for the new version: the app has stopped its work and waits for the reload. */
  isApplying: () => state === 'applying',
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  /**
   * The app first stops its background work (the signed-in workspace unmounts: sync, downloads,
   * the change stream), because the browser hands over to the waiting worker only once the
   * running one has no requests left to answer; then the waiting worker is asked to take over and
   * the page reloads once it controls it. The button never does nothing: with no worker waiting any
   * more (another tab applied the update) the page reloads at once, and after a while anyway.
   */
  applyUpdate(): void {
    if (state === 'applying' || !workbox) return;
    setState('applying');
    let reloading = false;
    const reload = () => {
      if (reloading) return;
      reloading = true;
      window.location.reload();
    };
    navigator.serviceWorker.addEventListener('controllerchange', reload);
    // After React has committed the unmount and its effects' cleanups have run.
    setTimeout(() => {
      if (!registration?.waiting) return reload();
      workbox?.messageSkipWaiting();
      setTimeout(reload, GIVE_UP_MS);
    }, 0);
  },
};

export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator) || import.meta.env.DEV) return;
  workbox = new Workbox('/sw.js', { scope: '/' });
  workbox.addEventListener('waiting', () => {
    if (state === 'none') setState('ready');
  });
  void workbox
    .register()
    .then((registered) => {
      registration = registered ?? null;
    })
    .catch(() => undefined);
  // Check for a new version now and then while the app stays open (tablets run for days).
  setInterval(() => void workbox?.update().catch(() => undefined), 30 * 60_000);
}
