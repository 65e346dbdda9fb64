/**
 * The sealed copy of a report document (fake-indexeddb, Node's WebCrypto): every update is written
 * sealed (the raw database holds no text), a new page opens it again, another key opens nothing,
 * merging rows never loses an update that raced it, and an update survives a page that goes in the
 * same task as the keystroke.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { TEST_DATA_KEY } from '../test/data-key';
import { SealedDocStore } from './sealed-doc-store';

const stores: SealedDocStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.destroy();
});

function open(name: string, key = TEST_DATA_KEY) {
  const doc = new Y.Doc();
  const store = new SealedDocStore(name, doc, key, 'report-1');
  stores.push(store);
  return { doc, store };
}

/** Every byte the database holds, as text, the way someone with a copy of the disk would search it. */
async function rawText(name: string): Promise<string> {
  const parts: string[] = [];
  await withDatabase(name, async (db) => {
    for (const storeName of Array.from(db.objectStoreNames)) {
      const values = await new Promise<unknown[]>((resolve) => {
        const req = db.transaction(storeName).objectStore(storeName).getAll();
        req.onsuccess = () => resolve(req.result);
      });
      for (const value of values) {
        for (const part of Object.values(value as Record<string, unknown>)) {
          if (part instanceof ArrayBuffer || ArrayBuffer.isView(part)) {
            parts.push(new TextDecoder('latin1').decode(part instanceof ArrayBuffer ? part : (part as Uint8Array)));
          } else parts.push(JSON.stringify(part));
        }
      }
    }
  });
  return parts.join('\n');
}

describe('the sealed report copy', () => {
  it('writes each update sealed and gives it back in a new page', async () => {
    const name = `sealed-${crypto.randomUUID()}`;
    const first = open(name);
    await first.store.whenLoaded;
    first.doc.getText('t').insert(0, 'Pneumothorax on the left');
    first.doc.getText('t').insert(0, 'Findings: ');
    await first.store.flushed();
    expect(first.store.rows).toBe(2);
    await first.store.set('serverSV', 'abc');
    const text = await rawText(name);
    expect(text).not.toContain('Pneumothorax');
    expect(text).not.toContain('abc');

    const second = open(name);
    await second.store.whenLoaded;
    expect(second.doc.getText('t').toString()).toBe('Findings: Pneumothorax on the left');
    expect(await second.store.get('serverSV')).toBe('abc');
  });

  it('opens nothing under another key, and drops what it cannot open', async () => {
    const name = `sealed-${crypto.randomUUID()}`;
    const first = open(name);
    await first.store.whenLoaded;
    first.doc.getText('t').insert(0, 'secret');
    await first.store.flushed();
    const other = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const thief = open(name, other);
    await thief.store.whenLoaded;
    expect(thief.doc.getText('t').toString()).toBe('');
    expect(thief.store.unreadable).toBe(1);
  });

  it('merges rows into one, keeping an update written while the merge ran', async () => {
    const name = `sealed-${crypto.randomUUID()}`;
    const first = open(name);
    await first.store.whenLoaded;
    for (const word of ['one ', 'two ', 'three ']) first.doc.getText('t').insert(first.doc.getText('t').length, word);
    await first.store.flushed();
    expect(first.store.rows).toBe(3);
    const merging = first.store.compact();
    first.doc.getText('t').insert(first.doc.getText('t').length, 'four');
    await Promise.all([merging, first.store.flushed()]);
    const second = open(name);
    await second.store.whenLoaded;
    expect(second.doc.getText('t').toString()).toBe('one two three four');
    expect(second.store.rows).toBeLessThanOrEqual(2);
  });

  it('keeps an update when the page goes in the same task as the keystroke', async () => {
    const name = `sealed-${crypto.randomUUID()}`;
    // The page's connections, to close them the way a page that goes closes them.
    const connections: IDBDatabase[] = [];
    const realOpen = indexedDB.open.bind(indexedDB);
    const spy = vi.spyOn(indexedDB, 'open').mockImplementation((dbName, version) => {
      const req = realOpen(dbName, version);
      req.addEventListener('success', () => connections.push(req.result));
      return req;
    });
    const first = open(name);
    await first.store.whenLoaded;
    spy.mockRestore();
    first.doc.getText('t').insert(0, 'Left apical pneumothorax');
    // Gone before any later task: no new transaction can start on these connections.
    for (const connection of connections) connection.close();
    const second = open(name);
    await second.store.whenLoaded;
    expect(second.doc.getText('t').toString()).toBe('Left apical pneumothorax');
    expect(await rawText(name)).not.toContain('pneumothorax');
  });

  it('two pages opening a new copy at once agree on one journal key: what both write opens later', async () => {
    const name = `sealed-${crypto.randomUUID()}`;
    const [a, b] = [open(name), open(name)];
    await Promise.all([a.store.whenLoaded, b.store.whenLoaded]);
    a.doc.getText('t').insert(0, 'from a. ');
    b.doc.getText('u').insert(0, 'from b.');
    await Promise.all([a.store.flushed(), b.store.flushed()]);
    const third = open(name);
    await third.store.whenLoaded;
    expect(third.store.unreadable).toBe(0);
    expect(`${third.doc.getText('t')}${third.doc.getText('u')}`).toBe('from a. from b.');
  });

  // What someone with the disk could change: each case alters the stored copy, then a new page opens it.
  const alterations: [string, (db: IDBDatabase) => Promise<void>][] = [
    ['a byte of the newest row flipped', (db) => rewriteRows(db, (row, last) => (last ? { ...row, data: flipped(row.data) } : row))],
    [
      'the newest row marked as sealed under the data key',
      (db) => rewriteRows(db, (row, last) => (last ? { ...row, journal: undefined } : row)),
    ],
    ['the newest row with a 4-byte IV', (db) => rewriteRows(db, (row, last) => (last ? { ...row, iv: new Uint8Array(4) } : row))],
    ['the journal key record a string', (db) => putMeta(db, 'journalKey', 'key')],
    ['the journal key record an empty object', (db) => putMeta(db, 'journalKey', {})],
    ['the journal key record sealed for another document', (db) => copyMeta(db, 'serverSV', 'journalKey')],
  ];
  for (const [what, alter] of alterations)
    it(`opens what is intact and keeps writing when ${what}`, async () => {
      const name = `sealed-${crypto.randomUUID()}`;
      const first = open(name);
      await first.store.whenLoaded;
      first.doc.getText('t').insert(0, 'intact');
      await first.store.flushed();
      await first.store.set('serverSV', 'abc');
      first.doc.getText('u').insert(0, 'newest');
      await first.store.flushed();
      first.store.destroy();
      await withDatabase(name, alter);
      const second = open(name);
      await second.store.whenLoaded;
      const journalGone = what.startsWith('the journal key');
      expect(second.doc.getText('t').toString()).toBe(journalGone ? '' : 'intact');
      expect(second.doc.getText('u').toString()).toBe('');
      expect(second.store.unreadable).toBe(journalGone ? 2 : 1);
      second.doc.getText('t').insert(0, 'after ');
      await second.store.flushed();
      const third = open(name);
      await third.store.whenLoaded;
      expect(third.doc.getText('t').toString()).toBe(journalGone ? 'after ' : 'after intact');
      expect(third.store.unreadable).toBe(0);
    });
});

type Row = { iv: Uint8Array; data: ArrayBuffer; journal?: true };

function flipped(data: ArrayBuffer): ArrayBuffer {
  const copy = new Uint8Array(data.slice(0));
  copy[0] = (copy[0] ?? 0) ^ 1;
  return copy.buffer;
}

async function withDatabase(name: string, use: (db: IDBDatabase) => Promise<void>): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  await use(db);
  db.close();
}

function complete(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error);
  });
}

async function rewriteRows(db: IDBDatabase, change: (row: Row, last: boolean) => Row): Promise<void> {
  const tx = db.transaction('sealedUpdates', 'readwrite');
  const store = tx.objectStore('sealedUpdates');
  const keys = await new Promise<IDBValidKey[]>((resolve) => {
    const req = store.getAllKeys();
    req.onsuccess = () => resolve(req.result);
  });
  const rows = await new Promise<Row[]>((resolve) => {
    const req = store.getAll();
    req.onsuccess = () => resolve(req.result as Row[]);
  });
  for (const [i, row] of rows.entries()) store.put(change(row, i === rows.length - 1), keys[i]);
  await complete(tx);
}

async function putMeta(db: IDBDatabase, key: string, value: unknown): Promise<void> {
  const tx = db.transaction('sealedMeta', 'readwrite');
  tx.objectStore('sealedMeta').put(value, key);
  await complete(tx);
}

async function copyMeta(db: IDBDatabase, from: string, to: string): Promise<void> {
  const tx = db.transaction('sealedMeta', 'readwrite');
  const meta = tx.objectStore('sealedMeta');
  const req = meta.get(from);
  req.onsuccess = () => meta.put(req.result, to);
  await complete(tx);
}
