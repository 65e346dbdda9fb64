/**
 * Storage the browser removed by itself: Chromium evicts a site's IndexedDB and caches under
 * storage pressure unless persistence was granted (asked at sign-in), and Safari deletes a site's
 * script-writable storage after about seven days without use. The device notes (in localStorage,
 * which Chromium's eviction leaves) that it holds a user's rows; a workspace that opens with that
 * note but without the database's sync cursor lost its copies, and the user is told once while the
 * sync, the report downloads and "keep assigned studies offline" download them again. Every
 * deliberate wipe (logout, the fifth wrong PIN, a revoked device) removes the note first.
 * When Safari clears localStorage too, the device identity goes with it: the next sign-in is a new
 * device, which downloads everything as any new device does.
 */
import { useSyncExternalStore } from 'react';
import type { WorklistDb } from './db';

const HELD = 'pacs.held.';

/** This device holds rows of the user's worklist (kept from the first time until a wipe). */
export function markHeld(userId: string): void {
  try {
    if (!localStorage.getItem(HELD + userId)) localStorage.setItem(HELD + userId, new Date().toISOString());
  } catch {
    // Storage full or blocked: no notice after an eviction, nothing else lost.
  }
}

/** A deliberate wipe: one user's note, or everyone's. */
export function forgetHeld(userId?: string): void {
  try {
    const keys = userId ? [HELD + userId] : Object.keys(localStorage).filter((key) => key.startsWith(HELD));
    for (const key of keys) localStorage.removeItem(key);
  } catch {
    // nothing to forget
  }
}

export interface EvictionNotice {
  /** When the device first held the user's rows (the copies lost were made since). */
  heldSince: string;
}

let notice: EvictionNotice | null = null;
const listeners = new Set<() => void>();
function setNotice(next: EvictionNotice | null): void {
  notice = next;
  for (const listener of listeners) listener();
}

/** Run before the sync starts (it writes the cursor): whether the user's copies were removed since the last session. */
export async function checkEviction(db: WorklistDb, userId: string): Promise<EvictionNotice | null> {
  let since: string | null = null;
  try {
    since = localStorage.getItem(HELD + userId);
  } catch {
    return null;
  }
  if (!since) return null;
  const cursor = await db.meta
    .get('cursor')
    .then((entry) => entry?.value)
    .catch(() => undefined);
  if (cursor !== undefined) return null;
  // Told once: the note comes back as soon as rows are held again.
  forgetHeld(userId);
  setNotice({ heldSince: since });
  return notice;
}

export const evictionNotice = {
  get: (): EvictionNotice | null => notice,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  dismiss: (): void => setNotice(null),
};

export function useEvictionNotice(): EvictionNotice | null {
  return useSyncExternalStore(evictionNotice.subscribe, evictionNotice.get, evictionNotice.get);
}
