/**
 * Tells the server what this device holds offline (offline studies, local report copies, worklist
 * rows), so its user and admins see it in the list of devices. Counted from the device's own store
 * whenever it changes (a sync, a download), sent a few seconds after the changes settle and only
 * when the counts differ from the last ones sent: no request per synced row.
 */
import type { DeviceHoldings } from '@pacs/shared';
import Dexie, { liveQuery } from 'dexie';
import { api } from '../api/client';
import { dbNameFor, type WorklistDb } from './db';
import { markHeld } from './eviction';

const SETTLE_MS = 3000;

async function reportCopies(userId: string): Promise<number> {
  try {
    const prefix = `${dbNameFor(userId)}.report.`;
    return (await Dexie.getDatabaseNames()).filter((name) => name.startsWith(prefix)).length;
  } catch {
    return 0;
  }
}

/** Starts watching; answers the function that stops it. */
export function watchHoldings(db: WorklistDb, userId: string, settleMs = SETTLE_MS): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastSent = '';
  const send = async (counts: Omit<DeviceHoldings, 'reports'>) => {
    const holdings: DeviceHoldings = { ...counts, reports: await reportCopies(userId) };
    const key = JSON.stringify(holdings);
    if (key === lastSent || !navigator.onLine) return;
    try {
      await api.request('PUT', '/api/devices/current/holdings', holdings);
      lastSent = key;
    } catch {
      // Offline, or a session without a device identity: the next change tries again.
    }
  };
  const subscription = liveQuery(async () => ({
    studies: await db.offlineStudies.count(),
    worklistRows: await db.studies.count(),
  })).subscribe({
    next: (counts) => {
      if (counts.worklistRows > 0) markHeld(userId);
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void send(counts), settleMs);
    },
    // The database closed (logout, wipe): nothing more to report.
    error: () => stop(),
  });
  const stop = () => {
    if (timer) clearTimeout(timer);
    subscription.unsubscribe();
  };
  return stop;
}
