/**
 * The device's macro copy on fake-indexeddb against a stand-in for the three macro endpoints:
 * changes made offline wait in order, replay under their own ids once the network is back (a
 * replay is one macro), refusals no retry can fix are dropped, and the server's list replaces the
 * copy except for what still waits.
 */
import 'fake-indexeddb/auto';
import type { Macro } from '@pacs/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from '../api/client';
import { openWorklistDb, type WorklistDb } from '../device/db';
import { testDataKey } from '../test/data-key';
import { MacroStore } from './macro-store';

let db: WorklistDb;
let server: Map<string, Macro>;
let networkDown: boolean;
let calls: string[];

const client = {
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (networkDown) throw new NetworkError('offline');
    calls.push(`${method} ${path}`);
    const id = path.split('/').pop()!;
    if (method === 'GET') return { items: [...server.values()] } as T;
    if (method === 'DELETE') {
      if (!server.delete(id)) throw new ApiError(404, { statusCode: 404, error: 'Not Found', message: 'macro not found' });
      return null as T;
    }
    if (id === 'deleted-elsewhere')
      throw new ApiError(409, { statusCode: 409, error: 'Conflict', message: 'the macro was deleted', code: 'MACRO_DELETED' });
    const before = server.get(id);
    const macro = { id, ...(body as object), version: (before?.version ?? 0) + 1, updatedAt: new Date().toISOString() } as Macro;
    server.set(id, macro);
    return macro as T;
  },
};

beforeEach(() => {
  db = openWorklistDb(crypto.randomUUID(), testDataKey);
  server = new Map();
  networkDown = false;
  calls = [];
});
afterEach(async () => {
  db.close();
});

const triggers = async () => (await db.macros.orderBy('trigger').toArray()).map((m) => m.trigger);

describe('macro store', () => {
  it('keeps offline changes on the device and replays them in order, once, when back online', async () => {
    const store = new MacroStore(db, client);
    networkDown = true;
    await store.save('a', { trigger: 'normal', label: 'Normal', text: 'No acute abnormality.' });
    await store.save('a', { trigger: 'normal', label: 'Normal', text: 'Normal study.' });
    await store.save('b', { trigger: 'gone', label: 'Gone', text: 'x' });
    await store.remove('b');
    await store.sync();
    expect(await triggers()).toEqual(['normal']);
    expect(await db.macroChanges.count()).toBe(4);
    expect(calls).toEqual([]);

    networkDown = false;
    await store.sync();
    expect(calls).toEqual(['PUT /api/macros/a', 'PUT /api/macros/a', 'PUT /api/macros/b', 'DELETE /api/macros/b', 'GET /api/macros']);
    expect([...server.values()].map((m) => [m.id, m.text])).toEqual([['a', 'Normal study.']]);
    expect(await db.macroChanges.count()).toBe(0);
    expect((await db.macros.get('a'))?.version).toBe(2);
  });

  it('refuses a trigger already used on this device', async () => {
    const store = new MacroStore(db, client);
    await store.save('a', { trigger: 'pe', label: 'PE', text: 'x' });
    await expect(store.save('b', { trigger: 'pe', label: 'Other', text: 'y' })).rejects.toThrow('.pe is already one of your macros');
    await store.sync();
    expect([...server.values()].map((m) => m.trigger)).toEqual(['pe']);
  });

  it('drops a change the server can never take, says so, and takes the server’s list', async () => {
    server.set('other-device', { id: 'other-device', trigger: 'fromthere', label: 'There', text: 't', version: 1, updatedAt: '' });
    const store = new MacroStore(db, client);
    networkDown = true;
    await store.save('deleted-elsewhere', { trigger: 'late', label: 'Late', text: 'edited offline' });
    networkDown = false;
    await store.sync();
    expect(store.lastRefusal).toContain('.late');
    expect(await db.macroChanges.count()).toBe(0);
    expect(await triggers()).toEqual(['fromthere']);
  });
});
