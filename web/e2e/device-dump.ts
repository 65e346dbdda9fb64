/**
 * What someone who copied a tablet's browser storage would have: every record of every IndexedDB
 * database of the origin (strings as they are, bytes decoded as Latin-1 and UTF-8, so text hidden
 * in a buffer is found too), local and session storage, and the service worker's caches; and the
 * profile's files on disk. The tests search these for the patient data they put there.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

/** Everything the origin stores, as text, read by a script in the page (what another profile could load from a copy). */
export function dumpOriginStorage(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const parts: string[] = [];
    const latin1 = new TextDecoder('latin1');
    const utf8 = new TextDecoder('utf-8', { fatal: false });
    const walk = (value: unknown, depth: number): void => {
      if (depth > 12 || value === null || value === undefined) return;
      if (typeof value === 'string') parts.push(value);
      else if (typeof value === 'number' || typeof value === 'boolean') parts.push(String(value));
      else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
        const bytes =
          value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        parts.push(latin1.decode(bytes), utf8.decode(bytes));
      } else if (value instanceof Blob) parts.push('[blob]');
      else if (Array.isArray(value)) for (const item of value) walk(item, depth + 1);
      else if (typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) {
          parts.push(key);
          walk(item, depth + 1);
        }
      }
    };
    for (const info of await indexedDB.databases()) {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(info.name!);
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      parts.push(`# ${db.name}`);
      for (const store of Array.from(db.objectStoreNames)) {
        const [keys, values] = await new Promise<[IDBValidKey[], unknown[]]>((resolve, reject) => {
          const tx = db.transaction(store, 'readonly');
          const keysReq = tx.objectStore(store).getAllKeys();
          const valuesReq = tx.objectStore(store).getAll();
          tx.oncomplete = () => resolve([keysReq.result, valuesReq.result]);
          tx.onerror = () => reject(tx.error);
        });
        walk(keys, 0);
        walk(values, 0);
      }
      db.close();
    }
    for (const storage of [localStorage, sessionStorage]) {
      for (let i = 0; i < storage.length; i++) parts.push(storage.key(i)!, storage.getItem(storage.key(i)!) ?? '');
    }
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        parts.push(request.url);
        const response = await cache.match(request);
        if (response && /json|text|javascript|html/.test(response.headers.get('content-type') ?? '')) parts.push(await response.text());
      }
    }
    return parts.join('\n');
  });
}

/** Every file under a browser profile directory, as Latin-1 and UTF-16LE text (V8 stores strings in one or the other). */
export function dumpProfileFiles(dir: string): string {
  const parts: string[] = [];
  const visit = (at: string) => {
    for (const name of readdirSync(at)) {
      const full = path.join(at, name);
      const stat = statSync(full, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) visit(full);
      else if (stat.isFile() && stat.size < 64 * 1024 * 1024) {
        const bytes = readFileSync(full);
        parts.push(bytes.toString('latin1'), bytes.toString('utf16le'), bytes.subarray(1).toString('utf16le'));
      }
    }
  };
  visit(dir);
  return parts.join('\n');
}

/** The terms found in `text` (case-insensitive). */
export function found(text: string, terms: readonly string[]): string[] {
  const lower = text.toLowerCase();
  return terms.filter((term) => lower.includes(term.toLowerCase()));
}
