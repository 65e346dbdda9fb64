/** Everything a signed-in user's pages share: their device database, the worklist sync engine and the worklist view. */
import { createContext, useContext, useSyncExternalStore } from 'react';
import { api } from '../api/client';
import type { User } from '../api/types';
import { openWorklistDb, sealLegacyRecords, type WorklistDb } from './db';
import { SyncEngine, type SyncStatus } from './engine';
import { watchHoldings } from './holdings';
import { registerDeviceTestHook } from './test-hook';
import { type DeviceVault, vaultFor } from './vault/vault';
import { type WorklistSnapshot, WorklistView } from './worklist-view';

export interface Workspace {
  user: User;
  db: WorklistDb;
  /** Unlocked before the workspace is made (session.ts); locked again when the offline limit passes. */
  vault: DeviceVault;
  engine: SyncEngine;
  worklist: WorklistView;
}

export function createWorkspace(user: User): Workspace {
  const vault = vaultFor(user.id);
  const db = openWorklistDb(user.id, () => vault.dataKey());
  void sealLegacyRecords(db).catch(() => undefined);
  if (typeof window !== 'undefined') registerDeviceTestHook(db);
  const engine = new SyncEngine(db, { id: user.id, name: user.name, role: user.role }, api);
  const worklist = new WorklistView(db, { id: user.id, name: user.name });
  engine.onStatArrival((arrivals) => worklist.highlight(arrivals.map((a) => a.id)));
  // Referrers keep no worklist on the device; everyone else's holdings are shown in the list of devices.
  if (user.role !== 'referrer') watchHoldings(db, user.id);
  return { user, db, vault, engine, worklist };
}

export const WorkspaceContext = createContext<Workspace | null>(null);

export function useWorkspace(): Workspace {
  const workspace = useContext(WorkspaceContext);
  if (!workspace) throw new Error('useWorkspace outside a signed-in workspace');
  return workspace;
}

export function useWorklist(): WorklistSnapshot {
  const { worklist } = useWorkspace();
  return useSyncExternalStore(worklist.subscribe, worklist.get, worklist.get);
}

export function useSyncStatus(): SyncStatus {
  const { engine } = useWorkspace();
  return useSyncExternalStore(engine.subscribe, engine.getStatus, engine.getStatus);
}
