/** Everything a signed-in user's pages share: their database, the sync engine and the worklist store. */
import { createContext, useContext, useSyncExternalStore } from 'react';
import { api } from '../api/client';
import type { User } from '../api/types';
import { openWorklistDb, type WorklistDb } from './db';
import { SyncEngine, type SyncStatus } from './engine';
import { type WorklistSnapshot, WorklistStore } from './store';

export interface Workspace {
  user: User;
  db: WorklistDb;
  engine: SyncEngine;
  store: WorklistStore;
}

export function createWorkspace(user: User): Workspace {
  const db = openWorklistDb(user.id);
  const engine = new SyncEngine(db, { id: user.id, name: user.name }, api);
  const store = new WorklistStore(db, { id: user.id, name: user.name });
  engine.onStatArrival((arrivals) => store.highlight(arrivals.map((a) => a.id)));
  return { user, db, engine, store };
}

export const WorkspaceContext = createContext<Workspace | null>(null);

export function useWorkspace(): Workspace {
  const workspace = useContext(WorkspaceContext);
  if (!workspace) throw new Error('useWorkspace outside a signed-in workspace');
  return workspace;
}

export function useWorklist(): WorklistSnapshot {
  const { store } = useWorkspace();
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}

export function useSyncStatus(): SyncStatus {
  const { engine } = useWorkspace();
  return useSyncExternalStore(engine.subscribe, engine.getStatus, engine.getStatus);
}
