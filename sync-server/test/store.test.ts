/**
 * Durability (DUR-*) on SQLite always, and on PostgreSQL too when TEST_POSTGRES_URL is set.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MIGRATION_NAMES } from '../src/db/migrate';
import { SequelizeStore } from '../src/store';
import {
  b64,
  ControlledStore,
  client,
  internal,
  newDocName,
  serverDoc,
  startServer,
  storedDoc,
  tempDatabaseUrl,
  token,
  updatesReceived,
  waitFor,
} from './helpers';

const BACKENDS: [string, () => string][] = [['sqlite', tempDatabaseUrl]];
if (process.env.TEST_POSTGRES_URL) BACKENDS.push(['postgres', () => process.env.TEST_POSTGRES_URL!]);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function updateWith(text: string, base?: Y.Doc): { doc: Y.Doc; update: Uint8Array } {
  const doc = base ?? new Y.Doc();
  const sv = Y.encodeStateVector(doc);
  doc.getText('body').insert(doc.getText('body').length, text);
  return { doc, update: Y.encodeStateAsUpdate(doc, sv) };
}

function rebuild(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const u of updates) Y.applyUpdate(doc, u);
  return doc;
}

describe.each(BACKENDS)('store on %s', (_backend, makeUrl) => {
  const stores: SequelizeStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
  });
  async function open(url = makeUrl()) {
    const store = await SequelizeStore.open(url);
    stores.push(store);
    return store;
  }

  it('DUR-1: migrations create sync_* tables with their own ledger, and are idempotent', async () => {
    const url = makeUrl();
    const store = await open(url);
    const tables = (await store.sequelize.getQueryInterface().showAllTables()).map((t) =>
      typeof t === 'string' ? t : (t as { tableName: string }).tableName,
    );
    for (const t of ['sync_migrations', 'sync_updates', 'sync_snapshots', 'sync_locks', 'sync_late_edits']) expect(tables).toContain(t);
    await open(url); // second open: migrations already applied
    const [rows] = await store.sequelize.query('SELECT name FROM sync_migrations');
    expect((rows as { name: string }[]).map((r) => r.name)).toEqual(MIGRATION_NAMES);
  });

  it('DUR-3/5: append, load, compact (in a transaction) round-trip; compaction keeps rows it was not given', async () => {
    const store = await open();
    const name = newDocName();
    const { doc, update: u1 } = updateWith('one ');
    await store.append(name, u1);
    const { update: u2 } = updateWith('two ', doc);
    await store.append(name, u2);
    let loaded = await store.load(name);
    expect(loaded.logLength).toBe(2);
    expect(rebuild(loaded.updates).getText('body').toString()).toBe('one two ');

    // Compact with a state that lacks a row another writer appended: the row is merged in, not lost.
    const stale = Y.encodeStateAsUpdate(rebuild([u1]));
    await store.compact(name, stale);
    loaded = await store.load(name);
    expect(loaded.logLength).toBe(0);
    expect(loaded.updates).toHaveLength(1);
    expect(rebuild(loaded.updates).getText('body').toString()).toBe('one two ');

    const { update: u3 } = updateWith('three', doc);
    await store.append(name, u3);
    loaded = await store.load(name);
    expect(loaded.logLength).toBe(1);
    expect(rebuild(loaded.updates).getText('body').toString()).toBe('one two three');
    await store.compact(name, Y.encodeStateAsUpdate(doc));
    expect(
      rebuild((await store.load(name)).updates)
        .getText('body')
        .toString(),
    ).toBe('one two three');
  });

  it('LOCK-4: lock and late edits persist', async () => {
    const store = await open();
    const name = newDocName();
    expect((await store.load(name)).lock).toBeNull();
    const lockedAt = new Date('2026-01-02T03:04:05.000Z');
    await store.setLock(name, { lockedBy: 'att-1', lockedAt, stateVector: new Uint8Array([1, 2, 3]) });
    const lock = (await store.load(name)).lock!;
    expect(lock.lockedBy).toBe('att-1');
    expect(lock.lockedAt.toISOString()).toBe(lockedAt.toISOString());
    expect([...lock.stateVector]).toEqual([1, 2, 3]);
    const { update } = updateWith('late');
    const saved = await store.addLateEdit(name, { userId: 'res-1', userName: 'Dr R', data: update, createdAt: new Date() });
    const edits = await store.listLateEdits(name);
    expect(edits).toHaveLength(1);
    expect(edits[0]!.id).toBe(saved.id);
    expect(b64(edits[0]!.data)).toBe(b64(update));
    await store.clearLock(name);
    expect((await store.load(name)).lock).toBeNull();
  });

  it('DUR-2/6: edits are stored while connected, flushed on last disconnect, then the idle document is compacted and unloaded', async () => {
    const url = makeUrl();
    const { server, port } = await startServer({ databaseUrl: url, env: { PACS_SYNC_DEBOUNCE_MS: '100' } });
    cleanups.push(() => server.stop());
    const name = newDocName();
    const c = client(port, name, token(name));
    await waitFor(() => c.provider.synced, 'synced');
    for (let i = 0; i < 5; i++) c.text.insert(c.text.length, `line ${i}\n`);
    // Debounced (≤ 1 s): in the database while the client is still connected.
    await waitFor(async () => (await storedDoc(url, name)).getText('body').toString() === c.text.toString(), 'stored while connected');
    c.text.insert(0, 'last words ');
    c.destroy();
    await waitFor(() => server.documents.size === 0, 'unloaded after last disconnect');
    const stored = await storedDoc(url, name);
    expect(stored.getText('body').toString().startsWith('last words line 0')).toBe(true);
    const store = await open(url);
    expect((await store.load(name)).logLength).toBe(0); // compacted before unloading
    const loaded = await server.metrics.documentsLoaded.get();
    expect(loaded.values[0]!.value).toBe(0);
  });

  it('DUR-2: more dirty documents than one flush slice are all stored in the window, their appends still batched', async () => {
    const url = makeUrl();
    const store = new ControlledStore(await SequelizeStore.open(url));
    const { server, port } = await startServer({ databaseUrl: url, store, env: { PACS_SYNC_DEBOUNCE_MS: '200' } });
    cleanups.push(() => server.stop());
    const docs = Array.from({ length: 60 }, () => {
      const name = newDocName();
      const c = client(port, name, token(name));
      cleanups.push(() => c.destroy());
      return { name, c };
    });
    await waitFor(() => docs.every(({ c }) => c.provider.synced), 'all synced');
    const before = store.calls.append ?? 0;
    for (const [i, { c }] of docs.entries()) c.text.insert(0, `report ${i} — 'quoted', "double", \\ and ünïcode`);
    await waitFor(() => docs.every(({ name }) => serverDoc(server, name)?.getText('body').length), 'every update applied');
    await waitFor(async () => (await server.metrics.unpersistedUpdates.get()).values[0]!.value === 0, 'stored');
    // One INSERT per document would be 60; the flush's slices share statements (a few windows at most on a busy machine).
    expect((store.calls.append ?? 0) - before).toBeLessThan(30);
    for (const [i, { name }] of docs.entries())
      expect((await storedDoc(url, name)).getText('body').toString()).toBe(`report ${i} — 'quoted', "double", \\ and ünïcode`);
  });

  it('DUR-4: a failing store is retried with back-off, never drops an update, keeps the document loaded and shows in metrics', async () => {
    const url = makeUrl();
    const store = new ControlledStore(await SequelizeStore.open(url));
    const { server, port } = await startServer({ databaseUrl: url, store });
    cleanups.push(() => server.stop());
    const name = newDocName();
    const c = client(port, name, token(name));
    await waitFor(() => c.provider.synced, 'synced');
    store.failing.add('append');
    for (let i = 0; i < 10; i++) c.text.insert(c.text.length, `${i} `);
    await waitFor(() => (store.calls.append ?? 0) >= 3, 'several failed attempts');
    const failures = await server.metrics.persistFailures.get();
    expect(failures.values.find((v) => v.labels.op === 'append')!.value).toBeGreaterThanOrEqual(3);
    expect((await server.metrics.unpersistedUpdates.get()).values[0]!.value).toBeGreaterThan(0);
    c.destroy();
    // The document cannot be stored: it stays loaded, with its content, through further retries.
    const attempts = store.calls.append ?? 0;
    await waitFor(() => server.connectionCount === 0 && (store.calls.append ?? 0) >= attempts + 2, 'retries after the disconnect');
    expect(server.documents.size).toBe(1);
    expect(serverDoc(server, name)!.getText('body').toString()).toBe('0 1 2 3 4 5 6 7 8 9 ');
    store.failing.delete('append');
    await waitFor(() => server.documents.size === 0, 'stored and unloaded after recovery');
    expect((await storedDoc(url, name)).getText('body').toString()).toBe('0 1 2 3 4 5 6 7 8 9 ');
    expect((await server.metrics.unpersistedUpdates.get()).values[0]!.value).toBe(0);
  });

  it('DUR-7: graceful shutdown stores pending updates even with a long debounce', async () => {
    const url = makeUrl();
    const { server, port } = await startServer({ databaseUrl: url, env: { PACS_SYNC_DEBOUNCE_MS: '1000' } });
    const name = newDocName();
    const c = client(port, name, token(name));
    cleanups.push(() => c.destroy());
    await waitFor(() => c.provider.synced, 'synced');
    c.text.insert(0, 'typed just before SIGTERM');
    await waitFor(() => serverDoc(server, name)?.getText('body').length === 25, 'server has it');
    await server.stop();
    expect((await storedDoc(url, name)).getText('body').toString()).toBe('typed just before SIGTERM');
    expect(c.closes.some((e) => e.code === 4503)).toBe(true);
  });

  it('LOCK-2: updates arriving while the lock is being stored are held, then kept as late edits; a failed lock applies them', async () => {
    const url = makeUrl();
    const store = new ControlledStore(await SequelizeStore.open(url));
    const { server, port, url: http } = await startServer({ databaseUrl: url, store });
    cleanups.push(() => server.stop());
    const name = newDocName();
    const path = `/internal/documents/${encodeURIComponent(name)}/lock`;
    const c = client(port, name, token(name));
    cleanups.push(() => c.destroy());
    await waitFor(() => c.provider.synced, 'synced');
    c.text.insert(0, 'base');
    await waitFor(() => serverDoc(server, name)?.getText('body').length === 4, 'server has base');

    // 1) the lock write fails: held updates are applied, the document stays editable.
    store.failing.add('setLock');
    let release = store.hold('setLock');
    let lock = internal(http, 'POST', path, { stateVector: b64(Y.encodeStateVector(c.doc)), lockedBy: 'att' });
    await waitFor(() => (store.calls.setLock ?? 0) === 1, 'lock write started');
    let received = await updatesReceived(server);
    c.text.insert(4, ' held-1');
    await waitFor(async () => (await updatesReceived(server)) > received, 'held update arrived');
    expect(serverDoc(server, name)!.getText('body').toString()).toBe('base');
    release();
    expect((await lock).status).toBe(503);
    await waitFor(() => serverDoc(server, name)!.getText('body').toString() === 'base held-1', 'held update applied after failed lock');

    // 2) the lock write succeeds: the held update becomes a late edit.
    store.failing.delete('setLock');
    await waitFor(() => serverDoc(server, name)!.getText('body').length === c.text.length, 'caught up');
    release = store.hold('setLock');
    lock = internal(http, 'POST', path, { stateVector: b64(Y.encodeStateVector(c.doc)), lockedBy: 'att' });
    await waitFor(() => (store.calls.setLock ?? 0) === 2, 'second lock write started');
    received = await updatesReceived(server);
    c.text.insert(c.text.length, ' held-2');
    await waitFor(async () => (await updatesReceived(server)) > received, 'second held update arrived');
    expect(serverDoc(server, name)!.getText('body').toString()).toBe('base held-1');
    release();
    const done = await lock;
    expect(done.status).toBe(200);
    const final = new Y.Doc();
    Y.applyUpdate(final, new Uint8Array(Buffer.from(String(done.json.update), 'base64')));
    expect(final.getText('body').toString()).toBe('base held-1');
    await waitFor(
      async () =>
        ((await internal(http, 'GET', `/internal/documents/${encodeURIComponent(name)}/late-edits`)).json.lateEdits as unknown[]).length ===
        1,
      'late edit',
    );
    expect(serverDoc(server, name)!.getText('body').toString()).toBe('base held-1');
  });
});
