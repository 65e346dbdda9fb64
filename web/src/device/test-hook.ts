/**
 * Browser tests ask what the device stores for a study (`window.__pacsDevice.storedRow(id)`): the row
 * as the app opens it from its sealed copy. It reads nothing the page could not read anyway.
 */
import type { WorklistStudy } from '../api/types';
import type { WorklistDb } from './db';

export function registerDeviceTestHook(db: WorklistDb): void {
  (window as unknown as { __pacsDevice?: { storedRow(id: string): Promise<WorklistStudy | null> } }).__pacsDevice = {
    storedRow: (id) => db.sealed.studies.get(id),
  };
}
