/** The signed-in user's macro store (one per device database) and its macros, kept in sync while shown. */
import { can, type Macro, type Role } from '@pacs/shared';
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { WorklistDb } from '../device/db';
import { useWorkspace } from '../device/workspace';
import { MacroStore } from './macro-store';

const SYNC_EVERY_MS = 10_000;
const stores = new WeakMap<WorklistDb, MacroStore>();

export function macroStoreFor(db: WorklistDb): MacroStore {
  let store = stores.get(db);
  if (!store) {
    store = new MacroStore(db, api);
    stores.set(db, store);
  }
  return store;
}

export function usePersonalMacros(): { store: MacroStore; macros: Macro[] } {
  const { db, user } = useWorkspace();
  const store = macroStoreFor(db);
  const allowed = can(user.role as Role, 'macro:own');
  const [macros, setMacros] = useState<Macro[]>([]);
  useEffect(() => store.watch(setMacros), [store]);
  useEffect(() => {
    if (!allowed) return;
    void store.sync();
    const timer = setInterval(() => void store.sync(), SYNC_EVERY_MS);
    const online = () => void store.sync();
    window.addEventListener('online', online);
    return () => {
      clearInterval(timer);
      window.removeEventListener('online', online);
    };
  }, [store, allowed]);
  return { store, macros };
}
