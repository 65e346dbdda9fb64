/**
 * Browser tests ask what the device stores for a study (`window.__pacsDevice.storedRow(id)`): the row
 * as the app opens it from its sealed copy; and how many offline views it has recorded so far (the
 * head of its offline read record) and how many wait to be uploaded. It reads nothing the page
 * could not read anyway.
 */
import type { ChainHead } from '@pacs/shared';
import type { WorklistStudy } from '../api/types';
import { getMeta, type WorklistDb } from './db';
import { OFFLINE_READS_HEAD } from './offline-reads';

export interface DeviceTestHook {
  storedRow(id: string): Promise<WorklistStudy | null>;
  offlineReads(): Promise<{ recorded: number; waiting: number }>;
}

export function registerDeviceTestHook(db: WorklistDb): void {
  const hook: DeviceTestHook = {
    storedRow: (id) => db.sealed.studies.get(id),
    offlineReads: async () => ({
      recorded: (await getMeta<ChainHead>(db, OFFLINE_READS_HEAD))?.seq ?? 0,
      waiting: await db.offlineReads.count(),
    }),
  };
  (window as unknown as { __pacsDevice?: DeviceTestHook }).__pacsDevice = hook;
}
