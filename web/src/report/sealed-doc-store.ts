/**
 * A report document's copy on this device, sealed under the vault's data key (it replaces
 * y-indexeddb, which kept the text in the clear).
 *
 * Every update, typed here or received, is sealed and written at once in its own IndexedDB
 * transaction, committed explicitly rather than left to auto-commit, so a reload right after a
 * keystroke finds it. Sealing under the data key (WebCrypto) answers only in a later task, and a page
 * reloaded at once under load went before then (one phrase in ~60 reloads lost), so once the copy
 * is open each update is sealed synchronously under the document's journal key and its write queued
 * in the task that made it. The journal key is random, one per copy, and stored only sealed under
 * the data key; merging rows (`compact`) seals the state under the data key again, so the journal
 * key covers only what was written since. `flushed()` says when everything so far is on the device.
 * Updates are kept as rows and merged into one when there are many, deleting only rows committed
 * before the merged state was taken, so a write racing the merge is never lost.
 */
import * as Y from 'yjs';
import { sealBytesNow } from '../device/vault/seal-now';
import { openBytes, openJson, type Sealed, sameSealing, sealBytes, sealJson } from '../device/vault/sealed';

const UPDATES = 'sealedUpdates';
const META = 'sealedMeta';
/** The META record holding the document's journal key, sealed under the data key. */
const JOURNAL_KEY = 'journalKey';

/** A stored update: sealed under the data key, or under the journal key (`journal`). */
interface UpdateRow extends Sealed {
  journal?: true;
}
/** y-indexeddb used version 1 (plaintext `updates` and `custom`); version 2 drops them. */
const VERSION = 2;

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** `commit`: at once instead of when the event loop next idles (IndexedDB 3; older engines auto-commit); not when a request's handler still adds to it. */
function done(tx: IDBTransaction, commit = true): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    tx.onerror = () => reject(tx.error);
    if (commit) tx.commit?.();
  });
}

function openDatabase(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      for (const old of ['updates', 'custom']) if (db.objectStoreNames.contains(old)) db.deleteObjectStore(old);
      if (!db.objectStoreNames.contains(UPDATES)) db.createObjectStore(UPDATES, { autoIncrement: true });
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
    };
    req.onsuccess = () => {
      // Another tab or a wipe deleting the database: let it.
      req.result.onversionchange = () => req.result.close();
      resolve(req.result);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('the report copy is held by an older version of the app in another tab'));
  });
}

export class SealedDocStore {
  readonly whenLoaded: Promise<void>;
  /** Rows of updates stored (one per update until compacted). */
  rows = 0;
  /** Stored updates that could not be opened (sealed under another key) and were dropped. */
  unreadable = 0;
  private readonly opened: Promise<IDBDatabase>;
  /** Set once the copy is open: from then on updates are written in the task that made them. */
  private open: { db: IDBDatabase; journalKey: Uint8Array<ArrayBuffer> } | null = null;
  private inFlight = 0;
  private lastCommittedKey = 0;
  private waiters: (() => void)[] = [];
  private destroyed = false;
  private compacting = false;

  constructor(
    readonly name: string,
    private readonly doc: Y.Doc,
    private readonly key: CryptoKey,
    /** Bound into every record's additional data: a record moved to another document does not open. */
    private readonly documentId: string,
  ) {
    this.opened = openDatabase(name);
    this.whenLoaded = this.load();
    doc.on('update', this.onUpdate);
  }

  private async load(): Promise<void> {
    const db = await this.opened;
    const journalKey = await this.journalKey(db);
    const journal = journalKey && (await crypto.subtle.importKey('raw', journalKey, 'AES-GCM', false, ['decrypt']));
    const tx = db.transaction(UPDATES, 'readonly');
    const store = tx.objectStore(UPDATES);
    const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll() as IDBRequest<UpdateRow[]>)]);
    const updates: Uint8Array[] = [];
    const drop: IDBValidKey[] = [];
    await Promise.all(
      values.map(async (sealed, i) => {
        try {
          const key = sealed.journal ? journal : this.key;
          if (!key) throw new Error('no journal key');
          updates[i] = await openBytes(key, sealed, this.aad('update'));
        } catch {
          drop.push(keys[i]!);
        }
      }),
    );
    if (this.destroyed) return;
    Y.transact(
      this.doc,
      () => {
        for (const update of updates) if (update) Y.applyUpdate(this.doc, update, this);
      },
      this,
      false,
    );
    this.rows = values.length - drop.length;
    this.unreadable = drop.length;
    this.lastCommittedKey = Math.max(0, ...keys.map(Number));
    if (journalKey) this.open = { db, journalKey };
    if (drop.length) {
      const cleanup = db.transaction(UPDATES, 'readwrite');
      for (const key of drop) cleanup.objectStore(UPDATES).delete(key);
      await done(cleanup).catch(() => undefined);
    }
  }

  /**
   * The document's journal key: the stored one, or a new one stored sealed. One that does not open
   * (sealed under another data key) is replaced, as the rows under it are dropped. Two pages making
   * one at once: the first stored is kept. Null when none can be had (updates are then sealed
   * under the data key, as before the copy was open).
   */
  private async journalKey(db: IDBDatabase): Promise<Uint8Array<ArrayBuffer> | null> {
    const aad = this.aad('journal-key');
    const stored = (await request(db.transaction(META, 'readonly').objectStore(META).get(JOURNAL_KEY))) as Sealed | undefined;
    if (stored) {
      const opened = await openBytes(this.key, stored, aad).catch(() => null);
      if (opened) return opened;
    }
    try {
      const fresh = crypto.getRandomValues(new Uint8Array(new ArrayBuffer(32)));
      const sealed = await sealBytes(this.key, fresh, aad);
      const tx = db.transaction(META, 'readwrite');
      const meta = tx.objectStore(META);
      const current = meta.get(JOURNAL_KEY);
      let kept: Sealed | undefined;
      current.onsuccess = () => {
        kept = current.result as Sealed | undefined;
        // Replaced only if it is still the one that did not open (or there is none).
        if (!kept || (stored && sameSealing(kept, stored))) {
          meta.put(sealed, JOURNAL_KEY);
          kept = undefined;
        }
      };
      await done(tx, false);
      return kept ? await openBytes(this.key, kept, aad) : fresh;
    } catch {
      return null;
    }
  }

  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this || this.destroyed) return;
    this.inFlight += 1;
    const writing = this.open ? this.writeNow(update, this.open.db, this.open.journalKey) : this.write(update as Uint8Array<ArrayBuffer>);
    void writing.finally(() => {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const wake of this.waiters.splice(0)) wake();
    });
  };

  /** Sealed under the journal key and queued now: a page that goes right after still leaves it stored. */
  private writeNow(update: Uint8Array, db: IDBDatabase, journalKey: Uint8Array): Promise<void> {
    let tx: IDBTransaction;
    let added: Promise<IDBValidKey>;
    try {
      const row: UpdateRow = { ...sealBytesNow(journalKey, update, this.aad('update')), journal: true };
      tx = db.transaction(UPDATES, 'readwrite');
      added = request(tx.objectStore(UPDATES).add(row));
    } catch {
      // The database was closed under it (a wipe); the connection reports what is not on the device.
      return Promise.resolve();
    }
    return this.committed(tx, added);
  }

  private async write(update: Uint8Array<ArrayBuffer>): Promise<void> {
    // Not stopped by destroy(): an update made before it is still written (the close waits for it).
    const [db, sealed] = await Promise.all([this.opened, sealBytes(this.key, update, this.aad('update'))]);
    const tx = db.transaction(UPDATES, 'readwrite');
    await this.committed(tx, request(tx.objectStore(UPDATES).add(sealed)));
  }

  private async committed(tx: IDBTransaction, added: Promise<IDBValidKey>): Promise<void> {
    try {
      await done(tx);
      this.lastCommittedKey = Math.max(this.lastCommittedKey, Number(await added));
      this.rows += 1;
    } catch {
      // The page is leaving or the device is out of space; the connection reports what is not on the device.
      added.catch(() => undefined);
    }
  }

  /** Resolves once every update so far has been committed (or failed). */
  flushed(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Merges the stored rows into one: the state now replaces every row committed before it was taken. */
  async compact(): Promise<void> {
    if (this.compacting || this.destroyed || this.inFlight > 0) return;
    this.compacting = true;
    try {
      const db = await this.opened;
      const cutoff = this.lastCommittedKey;
      const before = this.rows;
      const state = await sealBytes(this.key, Y.encodeStateAsUpdate(this.doc) as Uint8Array<ArrayBuffer>, this.aad('update'));
      if (this.destroyed) return;
      const tx = db.transaction(UPDATES, 'readwrite');
      const store = tx.objectStore(UPDATES);
      store.delete(IDBKeyRange.upperBound(cutoff));
      const added = request(store.add(state));
      await done(tx);
      this.lastCommittedKey = Math.max(this.lastCommittedKey, Number(await added));
      this.rows = this.rows - before + 1;
    } finally {
      this.compacting = false;
    }
  }

  async get<T>(name: string): Promise<T | undefined> {
    const db = await this.opened;
    const sealed = (await request(db.transaction(META, 'readonly').objectStore(META).get(name))) as Sealed | undefined;
    if (!sealed) return undefined;
    try {
      return await openJson<T>(this.key, sealed, this.aad(`meta:${name}`));
    } catch {
      return undefined;
    }
  }

  async set(name: string, value: unknown): Promise<void> {
    const [db, sealed] = await Promise.all([this.opened, sealJson(this.key, value, this.aad(`meta:${name}`))]);
    if (this.destroyed) return;
    const tx = db.transaction(META, 'readwrite');
    tx.objectStore(META).put(sealed, name);
    await done(tx);
  }

  destroy(): void {
    this.destroyed = true;
    this.doc.off('update', this.onUpdate);
    void Promise.all([this.opened, this.flushed()])
      .then(([db]) => db.close())
      .catch(() => undefined);
  }

  private aad(part: string): string {
    return `report-copy:${this.documentId}:${part}`;
  }
}
