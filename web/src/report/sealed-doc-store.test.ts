/**
 * The sealed copy of a report document (fake-indexeddb, Node's WebCrypto): every update is written
 * sealed (the raw database holds no text), a new page opens it again, another key opens nothing,
 * and merging rows never loses an update that raced it.
 */
import { afterEach, describe, expect, it } from 'vitest';
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
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const parts: string[] = [];
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
  db.close();
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
});
