/**
 * Loaded documents (SPEC.md DOC-*, DUR-*, LOCK-*): one Y.Doc + Awareness per document name, its
 * connections, the queue of updates not yet stored, the finalization lock and late edits.
 *
 * Every store operation of a document runs on one promise chain (`serial`), so appends,
 * compactions, lock writes and late-edit writes of a document never interleave. A failed write
 * keeps its data in memory and is retried with back-off (DUR-4); the document stays loaded until
 * everything is stored (DUR-6).
 */
import { parseReportDocumentName, type SyncNotice } from '@pacs/shared';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { filterAwarenessUpdate } from './awareness-policy';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import { encodeAwareness, encodeNotice, encodeUpdateMessage } from './protocol';
import type { DocumentBus } from './scale-out/bus';
import { DocumentReplica } from './scale-out/replica';
import type { AppendEntry, DocumentStore, LateEditRecord, LockRecord } from './store';

/** What the document layer needs from a connection (connection.ts implements it). */
export interface Peer {
  readonly id: number;
  readonly userId: string;
  readonly userName: string;
  /** The token's role: shown in presence (PRES-2). */
  readonly role: string;
  /** What the token allows, lowered to read-only by the API (REVOKE-2); a locked document overrides it to read-only. */
  readonly mode: 'rw' | 'ro';
  send(message: Uint8Array): void;
  close(code: number, reason: string): void;
}

export interface DocumentOptions {
  debounceMs: number;
  compactAfterUpdates: number;
  unloadDelayMs: number;
}

const LOAD_ORIGIN = Symbol('load');
const SEED_ORIGIN = Symbol('seed');
/** Updates and awareness that arrived from another instance through the bus (SCALE-*). */
const REMOTE_ORIGIN = Symbol('remote');
const MAX_RETRY_DELAY_MS = 30_000;
/**
 * SCALE-3: an update another instance applied is stored by that instance; this one keeps it in
 * `unconfirmed` until that instance says `stored`, and stores it itself after this long without.
 */
export const UNCONFIRMED_STORE_AFTER_MS = 2_000;
/** SCALE-4: a frozen instance that hears nothing from the locker decides from the database after this long. */
export const REMOTE_FREEZE_EXPIRY_MS = 20_000;

export class LockConflictError extends Error {
  override name = 'LockConflictError';
  constructor(
    message: string,
    readonly stateVector: Uint8Array,
  ) {
    super(message);
  }
}

export class DocumentStateError extends Error {
  override name = 'DocumentStateError';
  constructor(
    message: string,
    readonly code: 'locked' | 'not-empty' | 'bad-request' | 'unavailable',
  ) {
    super(message);
  }
}

export interface LockResult {
  update: Uint8Array;
  stateVector: Uint8Array;
  lockedAt: Date;
  lockedBy: string;
  alreadyLocked: boolean;
}

interface PendingLateEdit {
  edit: Omit<LateEditRecord, 'id'>;
  peer: Peer | null;
}

/**
 * Coalesces the appends of every document flushed in the same tick into one multi-row INSERT
 * (DUR-2): with hundreds of active documents this is one statement per debounce window instead of
 * one per document. A failed batch fails every append in it; each document retries on its own.
 */
export class AppendBatcher {
  private queue: { entry: AppendEntry; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  constructor(private readonly store: DocumentStore) {}

  append(document: string, update: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry: { document, update }, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    try {
      await this.store.appendUpdates(batch.map((b) => b.entry));
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}

/** True when applying `update` would change `doc` (new structs or new deletions). */
export function updateAddsTo(doc: Y.Doc, update: Uint8Array): boolean {
  return !Y.snapshotContainsUpdate(Y.snapshot(doc), update);
}

export class SyncDocument {
  readonly doc = new Y.Doc({ gc: true });
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly reportId: string;
  /** Connections and the awareness client ids each controls (PRES-1). */
  readonly peers = new Map<Peer, Set<number>>();
  /** Awareness client id → the connection that introduced it (PRES-1). */
  private readonly awarenessOwners = new Map<number, Peer>();
  lock: LockRecord | null = null;
  /** Rows in the update log not yet folded into the snapshot. */
  logLength = 0;
  /** Scale-out membership (SCALE-*); null on a single instance. */
  replica: DocumentReplica | null = null;
  /** Number of the last update this instance applied from its own clients (SCALE-3). */
  seq = 0;
  private storedSeqAnnounced = 0;
  /** Updates from other instances that their instance has not yet confirmed as stored (SCALE-3). */
  private unconfirmed: { from: string; seq: number; update: Uint8Array; at: number }[] = [];
  private unconfirmedTimer: NodeJS.Timeout | null = null;
  private remoteTag: { from: string; seq: number } | null = null;
  /** Another instance is locking this document (SCALE-4): client updates wait in `holding`. */
  private remoteFreeze: { lockId: string; timer: NodeJS.Timeout } | null = null;
  private localLocking = false;

  private pending: Uint8Array[] = [];
  private pendingLate: PendingLateEdit[] = [];
  /** During a lock request: client updates wait here until the lock is decided. */
  private holding: { peer: Peer; update: Uint8Array }[] | null = null;
  /** Document state plus every late edit (dedupe of replayed offline edits), while locked. */
  private lateDoc: Y.Doc | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private opChain: Promise<unknown> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private unloadTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private writing = 0;
  /** Internal API operations in progress (they keep the document loaded). */
  holds = 0;
  destroyed = false;

  constructor(
    readonly name: string,
    private readonly store: DocumentStore,
    private readonly writer: AppendBatcher,
    private readonly options: DocumentOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly onIdle: (doc: SyncDocument) => void,
    /** Asks the manager for a flush within `debounceMs` (one timer for all documents). */
    private readonly requestFlush: (doc: SyncDocument) => void,
  ) {
    this.reportId = parseReportDocumentName(name) ?? name;
    this.awareness.setLocalState(null);
    this.doc.on('update', this.onUpdate);
    this.awareness.on('update', this.onAwareness);
  }

  /** Rebuilds the document from the store (DUR-3). */
  async load(): Promise<void> {
    // SCALE-2: subscribe before reading the database, so nothing published meanwhile is missed.
    const freezing = this.replica ? await this.replica.join() : null;
    const started = performance.now();
    const stored = await this.store.load(this.name);
    this.metrics.persistDuration.observe({ op: 'load' }, (performance.now() - started) / 1000);
    Y.transact(
      this.doc,
      () => {
        for (const update of stored.updates) {
          try {
            Y.applyUpdate(this.doc, update, LOAD_ORIGIN);
          } catch (err) {
            this.log.error('stored update could not be applied', { doc: this.name, err });
          }
        }
      },
      LOAD_ORIGIN,
    );
    this.logLength = stored.logLength;
    this.lock = stored.lock;
    if (this.lock) await this.buildLateDoc();
    if (this.replica) {
      if (freezing && !this.lock) this.enterRemoteFreeze(freezing);
      this.replica.ready();
    }
  }

  get isEmpty(): boolean {
    return this.doc.store.clients.size === 0 && this.doc.store.pendingStructs === null;
  }

  get unstoredCount(): number {
    return this.pending.length + this.pendingLate.length;
  }

  // ------------------------------------------------------------------ peers

  addPeer(peer: Peer): void {
    this.cancelUnload();
    this.peers.set(peer, new Set());
  }

  removePeer(peer: Peer): void {
    const controlled = this.peers.get(peer);
    if (!controlled) return;
    this.peers.delete(peer);
    for (const id of controlled) this.awarenessOwners.delete(id);
    if (controlled.size > 0) awarenessProtocol.removeAwarenessStates(this.awareness, [...controlled], null);
    if (this.peers.size === 0) {
      // DUR-2: flush on last disconnect, then unload once stored (DOC-3).
      void this.flush().then(() => this.scheduleUnload());
    }
  }

  /** Sync step 2 answer for a peer's state vector. Throws on a malformed vector. */
  diffFor(stateVector: Uint8Array): Uint8Array {
    return Y.encodeStateAsUpdate(this.doc, stateVector);
  }

  /** A peer's awareness update, filtered by PRES-1..PRES-3 first. Throws ProtocolError when malformed. */
  applyAwareness(peer: Peer, update: Uint8Array): void {
    const controlled = this.peers.get(peer);
    if (!controlled) return;
    const filtered = filterAwarenessUpdate(
      update,
      peer,
      {
        ownerOf: (id) => this.awarenessOwners.get(id),
        isShown: (id) => id === this.awareness.clientID || this.awareness.getStates().has(id),
        owned: controlled,
      },
      peer,
    );
    for (const reason of filtered.dropped) this.metrics.awarenessDropped.inc({ reason });
    if (filtered.dropped.length > 0) {
      this.log.warn('awareness entries dropped', { doc: this.name, user: peer.userId, reasons: [...new Set(filtered.dropped)] });
    }
    for (const id of filtered.claimed) {
      // A takeover by the same user (PRES-1): the old connection no longer removes it when it closes.
      const previous = this.awarenessOwners.get(id);
      if (previous && previous !== peer) this.peers.get(previous)?.delete(id);
      this.awarenessOwners.set(id, peer);
      controlled.add(id);
    }
    if (filtered.update) awarenessProtocol.applyAwarenessUpdate(this.awareness, filtered.update, peer);
  }

  /** Awareness of this instance's own clients (for a resync through the bus). */
  localAwarenessUpdate(): Uint8Array | null {
    const ids = [...this.peers.values()].flatMap((set) => [...set]).filter((id) => this.awareness.getStates().has(id));
    return ids.length > 0 ? awarenessProtocol.encodeAwarenessUpdate(this.awareness, ids) : null;
  }

  awarenessMessage(): Uint8Array | null {
    const states = this.awareness.getStates();
    if (states.size === 0) return null;
    return encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...states.keys()]));
  }

  /**
   * A sync step 2 or update from a peer (already validated as decodable). RO-1: read-only peers'
   * updates are never applied; LOCK-5: updates for a locked document become late edits.
   */
  receiveUpdate(peer: Peer, update: Uint8Array): void {
    if (this.holding) {
      this.holding.push({ peer, update });
      return;
    }
    if (this.lock) {
      this.captureLateEdit(peer, update);
      return;
    }
    if (peer.mode !== 'rw') {
      if (updateAddsTo(this.doc, update)) {
        this.metrics.refusedUpdates.inc({ reason: 'read-only' });
        this.log.warn('update from a read-only connection refused', { doc: this.name, user: peer.userId, bytes: update.byteLength });
      }
      return;
    }
    Y.applyUpdate(this.doc, update, peer);
  }

  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === LOAD_ORIGIN) return;
    const message = encodeUpdateMessage(update);
    if (origin === REMOTE_ORIGIN) {
      // SCALE-1/3: relayed to local clients; stored by the instance it came from (or by us later).
      const tag = this.remoteTag ?? { from: '', seq: 0 };
      this.unconfirmed.push({ from: tag.from, seq: tag.seq, update, at: Date.now() });
      this.scheduleUnconfirmedCheck();
      for (const peer of this.peers.keys()) peer.send(message);
      return;
    }
    this.metrics.updates.inc();
    this.pending.push(update);
    this.metrics.unpersistedUpdates.inc();
    for (const peer of this.peers.keys()) if (peer !== origin) peer.send(message);
    this.replica?.publishUpdate(update, ++this.seq);
    this.scheduleFlush();
  };

  private readonly onAwareness = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    // Which peer controls which id is decided in applyAwareness (PRES-1), before this runs.
    const changed = [...added, ...updated, ...removed];
    const update = awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed);
    const message = encodeAwareness(update);
    for (const peer of this.peers.keys()) peer.send(message);
    if (origin !== REMOTE_ORIGIN) this.replica?.publishAwareness(update);
  };

  notify(notice: SyncNotice, only?: Peer): void {
    const message = encodeNotice(notice);
    if (only) only.send(message);
    else for (const peer of this.peers.keys()) peer.send(message);
  }

  // ------------------------------------------------------------------ persistence

  private scheduleFlush(): void {
    if (this.retryTimer || this.destroyed) return;
    this.requestFlush(this);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Stores every pending update and late edit. Resolves true when nothing is left unstored; on a
   * failure the data stays queued and a retry is scheduled with back-off (DUR-4).
   */
  flush(): Promise<boolean> {
    return this.serial(async () => {
      this.writing++;
      try {
        await this.writeLateEdits();
        // Every own update numbered up to here is in `pending` or already stored (SCALE-3).
        const coveredSeq = this.seq;
        if (this.pending.length > 0) {
          const batch = this.pending;
          this.pending = [];
          const merged = batch.length === 1 ? batch[0]! : Y.mergeUpdates(batch);
          try {
            await this.timed('append', () => this.writer.append(this.name, merged));
            this.logLength++;
            this.metrics.unpersistedUpdates.dec(batch.length);
          } catch (err) {
            // Never drop: put the batch back (as one merged update) in front of newer ones.
            this.pending.unshift(merged);
            this.metrics.unpersistedUpdates.dec(batch.length - 1);
            throw err;
          }
        }
        this.failures = 0;
        if (this.replica && coveredSeq > this.storedSeqAnnounced) {
          this.storedSeqAnnounced = coveredSeq;
          this.replica.publishStored(coveredSeq);
        }
        if (this.logLength >= this.options.compactAfterUpdates) await this.compactNow();
        return true;
      } catch (err) {
        this.failures++;
        const delay = Math.min(MAX_RETRY_DELAY_MS, 100 * 2 ** Math.min(this.failures, 16)) * (0.75 + Math.random() * 0.5);
        this.log.error('persisting document failed; will retry', {
          doc: this.name,
          attempt: this.failures,
          retryInMs: Math.round(delay),
          unstored: this.unstoredCount,
          err,
        });
        this.scheduleRetry(delay);
        return false;
      } finally {
        this.writing--;
      }
    });
  }

  private scheduleRetry(delay: number): void {
    if (this.retryTimer || this.destroyed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.flush().then((ok) => {
        if (ok && this.peers.size === 0) this.scheduleUnload();
      });
    }, delay);
  }

  private async timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } catch (err) {
      this.metrics.persistFailures.inc({ op });
      throw err;
    } finally {
      this.metrics.persistDuration.observe({ op }, (performance.now() - started) / 1000);
    }
  }

  /** Folds the log into the snapshot (DUR-5). A failure is logged; the log keeps the data. */
  private async compactNow(): Promise<void> {
    try {
      await this.timed('compact', () => this.store.compact(this.name, Y.encodeStateAsUpdate(this.doc)));
      this.logLength = 0;
    } catch (err) {
      this.log.error('compaction failed; the update log still holds the data', { doc: this.name, err });
    }
  }

  /** Compacts if the log has more than one row (called before unloading and by tests). */
  compact(): Promise<void> {
    return this.serial(async () => {
      if (this.logLength > 1) await this.compactNow();
    });
  }

  private async writeLateEdits(): Promise<void> {
    while (this.pendingLate.length > 0) {
      const item = this.pendingLate[0]!;
      await this.timed('late-edit', () => this.store.addLateEdit(this.name, item.edit));
      this.pendingLate.shift();
      this.metrics.unpersistedUpdates.dec();
      this.metrics.lateEdits.inc();
      this.log.info('late edit stored', { doc: this.name, user: item.edit.userId, bytes: item.edit.data.byteLength });
      if (item.peer && this.peers.has(item.peer)) this.notify({ type: 'late-edit-stored', reportId: this.reportId }, item.peer);
    }
  }

  // ------------------------------------------------------------------ lock and late edits

  private async buildLateDoc(): Promise<void> {
    const lateDoc = new Y.Doc({ gc: true });
    Y.applyUpdate(lateDoc, Y.encodeStateAsUpdate(this.doc));
    for (const edit of await this.store.listLateEdits(this.name)) {
      try {
        Y.applyUpdate(lateDoc, edit.data);
      } catch {
        // A late edit that does not apply is still listed; it just cannot dedupe.
      }
    }
    this.lateDoc?.destroy();
    this.lateDoc = lateDoc;
  }

  private ensureLateDoc(): Y.Doc {
    if (!this.lateDoc) {
      this.lateDoc = new Y.Doc({ gc: true });
      Y.applyUpdate(this.lateDoc, Y.encodeStateAsUpdate(this.doc));
    }
    return this.lateDoc;
  }

  private captureLateEdit(peer: Peer | null, update: Uint8Array): void {
    const lateDoc = this.ensureLateDoc();
    // LOCK-6: a replay of something already stored (the same offline edits sent again on every
    // reconnect) is not stored twice; an empty sync step 2 is not a late edit.
    if (!updateAddsTo(lateDoc, update)) return;
    Y.applyUpdate(lateDoc, update);
    this.replica?.publishLateEdit(update);
    this.pendingLate.push({
      edit: { userId: peer?.userId ?? 'unknown', userName: peer?.userName ?? '', data: update, createdAt: new Date() },
      peer,
    });
    this.metrics.unpersistedUpdates.inc();
    this.scheduleFlush();
  }

  /** Runs internal operations of this document one at a time. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.opChain.then(fn, fn);
    this.opChain = run.catch(() => undefined);
    return run;
  }

  private fullState(): { update: Uint8Array; stateVector: Uint8Array } {
    return { update: Y.encodeStateAsUpdate(this.doc), stateVector: Y.encodeStateVector(this.doc) };
  }

  /** Applies updates that waited during a lock attempt that did not lock. */
  private releaseHeld(): void {
    const held = this.holding ?? [];
    this.holding = null;
    for (const h of held) this.receiveUpdate(h.peer, h.update);
  }

  /**
   * LOCK-1..LOCK-4: refuse when the document holds anything the reviewer has not seen; otherwise
   * stop applying updates, store everything, store the lock, tell the peers. With scale-out
   * (SCALE-4) every other instance holding the document is frozen first and sends what it holds,
   * so the check and the stored state cover every instance.
   */
  lockDocument(stateVector: Uint8Array, snapshot: Uint8Array | undefined, lockedBy: string): Promise<LockResult> {
    return this.exclusive(async () => {
      if (this.lock) {
        return { ...this.fullState(), lockedAt: this.lock.lockedAt, lockedBy: this.lock.lockedBy, alreadyLocked: true };
      }
      if (this.remoteFreeze) throw new DocumentStateError('another instance is locking this document', 'unavailable');
      let seen: Map<number, number>;
      let seenSnapshot: Y.Snapshot | undefined;
      try {
        seen = Y.decodeStateVector(stateVector);
        seenSnapshot = snapshot ? Y.decodeSnapshot(snapshot) : undefined;
      } catch {
        throw new DocumentStateError('stateVector or snapshot is not a valid Yjs encoding', 'bad-request');
      }
      // From here no client update is applied: arrivals wait in `holding` until the lock is decided.
      this.holding = [];
      this.localLocking = true;
      try {
        let lockId: string | null = null;
        if (this.replica) {
          try {
            const frozen = await this.replica.freeze(Y.encodeStateVector(this.doc));
            lockId = frozen.lockId;
            for (const diff of frozen.diffs) this.applyRemoteUpdate(diff.from, 0, diff.update);
          } catch (err) {
            this.releaseHeld();
            this.metrics.locks.inc({ outcome: 'error' });
            this.log.error('lock failed: the other instances could not be frozen; document stays editable', { doc: this.name, err });
            throw new DocumentStateError('the other sync-server instances could not be reached; nothing was locked', 'unavailable');
          }
        }
        const unseen = [...Y.decodeStateVector(Y.encodeStateVector(this.doc))].some(([client, clock]) => clock > (seen.get(client) ?? 0));
        let unseenDeletions = false;
        if (seenSnapshot) {
          const ds = Y.createDeleteSetFromStructStore(this.doc.store);
          unseenDeletions = !Y.equalDeleteSets(seenSnapshot.ds, Y.mergeDeleteSets([seenSnapshot.ds, ds]));
        }
        // Structs still pending (missing dependencies) are not part of the visible document and
        // are ignored: otherwise one client's broken update could block finalization forever.
        if (unseen || unseenDeletions) {
          if (lockId) this.replica?.release(lockId);
          this.releaseHeld();
          this.metrics.locks.inc({ outcome: 'conflict' });
          throw new LockConflictError('the document holds updates the reviewer has not seen', Y.encodeStateVector(this.doc));
        }
        const lock: LockRecord = { lockedBy, lockedAt: new Date(), stateVector: Y.encodeStateVector(this.doc) };
        try {
          // SCALE-4: what other instances hold unstored is stored here, before the lock row.
          this.storeUnconfirmedNow();
          if (!(await this.flush())) throw new Error('pending updates could not be stored');
          await this.serial(() => this.timed('lock', () => this.store.setLock(this.name, lock)));
        } catch (err) {
          if (lockId) this.replica?.release(lockId);
          this.releaseHeld();
          this.metrics.locks.inc({ outcome: 'error' });
          this.log.error('lock failed; document stays editable', { doc: this.name, err });
          throw new DocumentStateError('the document could not be stored; nothing was locked', 'unavailable');
        }
        const held = this.holding ?? [];
        this.holding = null;
        this.lock = lock;
        this.lateDoc?.destroy();
        this.lateDoc = null;
        if (lockId) this.replica?.locked(lockId, lock);
        for (const h of held) this.captureLateEdit(h.peer, h.update);
        this.metrics.locks.inc({ outcome: 'locked' });
        this.log.info('document locked', { doc: this.name, lockedBy, peers: this.peers.size });
        this.notify({ type: 'locked', reportId: this.reportId, lockedAt: lock.lockedAt.toISOString() });
        return { ...this.fullState(), lockedAt: lock.lockedAt, lockedBy, alreadyLocked: false };
      } finally {
        this.localLocking = false;
      }
    });
  }

  // ------------------------------------------------------------------ scale-out (SCALE-*)

  /** An update another instance applied (or a sync answer). Not applied to a locked document. */
  applyRemoteUpdate(from: string, seq: number, update: Uint8Array): void {
    if (this.lock) {
      if (updateAddsTo(this.doc, update))
        this.log.warn('update from another instance for a locked document not applied', { doc: this.name });
      return;
    }
    this.remoteTag = { from, seq };
    try {
      Y.applyUpdate(this.doc, update, REMOTE_ORIGIN);
    } catch (err) {
      this.log.warn('update from another instance could not be applied', { doc: this.name, err });
    } finally {
      this.remoteTag = null;
    }
  }

  applyRemoteAwareness(update: Uint8Array): void {
    try {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, update, REMOTE_ORIGIN);
    } catch (err) {
      this.log.warn('awareness from another instance could not be applied', { doc: this.name, err });
    }
  }

  /** `from` has stored its own updates up to `seq`: they no longer need us (SCALE-3). */
  confirmStored(from: string, seq: number): void {
    if (this.unconfirmed.length === 0) return;
    this.unconfirmed = this.unconfirmed.filter((u) => u.from !== from || u.seq > seq);
    if (this.unconfirmed.length === 0) {
      if (this.unconfirmedTimer) clearTimeout(this.unconfirmedTimer);
      this.unconfirmedTimer = null;
      if (this.peers.size === 0) this.scheduleUnload();
    }
  }

  /** Shutdown (and a lock): every unconfirmed remote update goes into this instance's own pending queue. */
  storeUnconfirmedNow(): void {
    if (this.unconfirmed.length === 0) return;
    const all = this.unconfirmed;
    this.unconfirmed = [];
    if (this.unconfirmedTimer) clearTimeout(this.unconfirmedTimer);
    this.unconfirmedTimer = null;
    for (const u of all) this.pending.push(u.update);
    this.metrics.unpersistedUpdates.inc(all.length);
  }

  private scheduleUnconfirmedCheck(): void {
    if (this.unconfirmedTimer || this.destroyed) return;
    this.unconfirmedTimer = setTimeout(() => {
      this.unconfirmedTimer = null;
      this.storeUnconfirmed(Date.now() - UNCONFIRMED_STORE_AFTER_MS);
    }, UNCONFIRMED_STORE_AFTER_MS);
  }

  /**
   * SCALE-3: remote updates received before `receivedBefore` whose instance never confirmed them
   * (it died, or Redis or its database failed) are stored by this instance. A duplicate row is
   * harmless: applying a Yjs update twice changes nothing.
   */
  private storeUnconfirmed(receivedBefore: number): void {
    const late = this.unconfirmed.filter((u) => u.at <= receivedBefore);
    if (late.length > 0) {
      this.unconfirmed = this.unconfirmed.filter((u) => u.at > receivedBefore);
      for (const u of late) this.pending.push(u.update);
      this.metrics.unpersistedUpdates.inc(late.length);
      this.log.info('storing updates another instance did not confirm', { doc: this.name, updates: late.length });
      void this.flush().then((ok) => {
        if (ok && this.peers.size === 0) this.scheduleUnload();
      });
    }
    if (this.unconfirmed.length > 0) this.scheduleUnconfirmedCheck();
  }

  /** SCALE-4: another instance is locking: client updates wait until it locks or releases. */
  enterRemoteFreeze(lockId: string): void {
    if (this.lock || this.localLocking || this.destroyed) return;
    if (this.remoteFreeze) clearTimeout(this.remoteFreeze.timer);
    if (this.holding === null) this.holding = [];
    this.remoteFreeze = { lockId, timer: setTimeout(() => void this.decideFreezeFromStore(lockId), REMOTE_FREEZE_EXPIRY_MS) };
  }

  /** The locker went silent (crash, Redis lost): the lock row in the database decides. */
  private async decideFreezeFromStore(lockId: string): Promise<void> {
    if (this.remoteFreeze?.lockId !== lockId || this.destroyed) return;
    try {
      const lock = await this.store.getLock(this.name);
      if (lock) this.applyRemoteLock(lock);
      else this.releaseRemoteFreeze(lockId);
    } catch (err) {
      this.log.error('frozen document: lock state unreadable; still waiting', { doc: this.name, err });
      if (this.remoteFreeze?.lockId === lockId) {
        this.remoteFreeze.timer = setTimeout(() => void this.decideFreezeFromStore(lockId), 1_000);
      }
    }
  }

  /** SCALE-4: the document was locked through another instance; what waited becomes late edits (LOCK-5). */
  applyRemoteLock(lock: LockRecord): void {
    if (this.remoteFreeze) clearTimeout(this.remoteFreeze.timer);
    this.remoteFreeze = null;
    if (this.lock || this.localLocking) return;
    const held = this.holding ?? [];
    this.holding = null;
    // Only if this instance missed the freeze (cut off from Redis meanwhile, SCALE-6): what it
    // applied beyond the signed state is kept as a late edit of an unknown user.
    const signed = Y.decodeStateVector(lock.stateVector);
    const ahead = [...Y.decodeStateVector(Y.encodeStateVector(this.doc))].some(([client, clock]) => clock > (signed.get(client) ?? 0));
    if (ahead) {
      const beyond = Y.encodeStateAsUpdate(this.doc, lock.stateVector);
      this.pendingLate.push({ edit: { userId: 'unknown', userName: '', data: beyond, createdAt: new Date() }, peer: null });
      this.metrics.unpersistedUpdates.inc();
      this.scheduleFlush();
      this.log.warn('locked elsewhere while this instance applied edits beyond the signed state; kept as a late edit', { doc: this.name });
    }
    this.lock = lock;
    this.lateDoc?.destroy();
    this.lateDoc = null;
    for (const h of held) this.captureLateEdit(h.peer, h.update);
    this.log.info('document locked through another instance', { doc: this.name, lockedBy: lock.lockedBy, peers: this.peers.size });
    this.notify({ type: 'locked', reportId: this.reportId, lockedAt: lock.lockedAt.toISOString() });
  }

  releaseRemoteFreeze(lockId: string): void {
    if (this.remoteFreeze?.lockId !== lockId) return;
    clearTimeout(this.remoteFreeze.timer);
    this.remoteFreeze = null;
    if (!this.localLocking) this.releaseHeld();
    if (this.peers.size === 0) this.scheduleUnload();
  }

  applyRemoteUnlock(): void {
    if (!this.lock) return;
    this.lock = null;
    this.lateDoc?.destroy();
    this.lateDoc = null;
    this.log.info('document unlocked through another instance', { doc: this.name, peers: this.peers.size });
    this.notify({ type: 'unlocked', reportId: this.reportId });
  }

  /**
   * SCALE-6: after Redis was lost, messages may have been missed: the lock row decides whether the
   * document is locked, then the peers exchange what they missed.
   */
  async resyncAfterReconnect(): Promise<void> {
    if (this.destroyed || !this.replica) return;
    try {
      const lock = await this.store.getLock(this.name);
      if (lock && !this.lock) this.applyRemoteLock(lock);
      else if (!lock && this.lock && !this.localLocking) this.applyRemoteUnlock();
    } catch (err) {
      this.log.error('lock state unreadable after redis reconnect', { doc: this.name, err });
    }
    if (!this.destroyed) this.replica?.resync();
  }

  /** A late edit another instance stored: remembered so a replay here is not stored again (LOCK-6). */
  applyRemoteLateEdit(update: Uint8Array): void {
    if (!this.lock) return;
    try {
      Y.applyUpdate(this.ensureLateDoc(), update);
    } catch {
      // Only dedupe is lost.
    }
  }

  /** LOCK-7: the API's return-to-resident path. Late edits stay listed. */
  unlockDocument(): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.lock) return false;
      await this.flush();
      try {
        await this.serial(() => this.timed('unlock', () => this.store.clearLock(this.name)));
      } catch (err) {
        this.log.error('unlock failed; document stays locked', { doc: this.name, err });
        throw new DocumentStateError('the lock could not be removed; the document stays locked', 'unavailable');
      }
      this.lock = null;
      this.lateDoc?.destroy();
      this.lateDoc = null;
      this.metrics.locks.inc({ outcome: 'unlocked' });
      this.log.info('document unlocked', { doc: this.name, peers: this.peers.size });
      this.replica?.publishUnlocked();
      this.notify({ type: 'unlocked', reportId: this.reportId });
      return true;
    });
  }

  /** SEED-1: initial content from a template, only into an empty, unlocked document. */
  seed(update: Uint8Array): Promise<Uint8Array> {
    return this.exclusive(async () => {
      if (this.lock) throw new DocumentStateError('the document is locked', 'locked');
      if (!this.isEmpty) throw new DocumentStateError('the document already has content', 'not-empty');
      try {
        Y.decodeUpdate(update);
      } catch {
        throw new DocumentStateError('update is not a valid Yjs update', 'bad-request');
      }
      Y.applyUpdate(this.doc, update, SEED_ORIGIN);
      // Stored before answering when the store is up; otherwise retried like any update.
      await this.flush();
      return Y.encodeStateVector(this.doc);
    });
  }

  state(): { update: Uint8Array; stateVector: Uint8Array; lock: LockRecord | null } {
    return { ...this.fullState(), lock: this.lock };
  }

  async lateEdits(): Promise<LateEditRecord[]> {
    await this.flush();
    return this.store.listLateEdits(this.name);
  }

  // ------------------------------------------------------------------ unloading

  /** True when the document can leave memory without losing anything. */
  get idle(): boolean {
    return (
      this.peers.size === 0 &&
      this.holds === 0 &&
      this.pending.length === 0 &&
      this.pendingLate.length === 0 &&
      this.writing === 0 &&
      this.holding === null &&
      this.retryTimer === null &&
      this.unconfirmed.length === 0 &&
      this.remoteFreeze === null
    );
  }

  scheduleUnload(): void {
    if (this.unloadTimer || this.destroyed || !this.idle) return;
    this.unloadTimer = setTimeout(() => {
      this.unloadTimer = null;
      if (!this.idle) return;
      void this.compact().then(() => {
        if (this.idle && !this.destroyed) this.onIdle(this);
      });
    }, this.options.unloadDelayMs);
  }

  cancelUnload(): void {
    if (this.unloadTimer) {
      clearTimeout(this.unloadTimer);
      this.unloadTimer = null;
    }
  }

  /** Frees memory. Only when `idle`, or at shutdown after the last flush attempt. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.cancelUnload();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.unconfirmedTimer) clearTimeout(this.unconfirmedTimer);
    this.unconfirmedTimer = null;
    if (this.remoteFreeze) clearTimeout(this.remoteFreeze.timer);
    this.remoteFreeze = null;
    this.replica?.close();
    this.metrics.unpersistedUpdates.dec(this.unstoredCount);
    this.awareness.destroy();
    this.lateDoc?.destroy();
    this.doc.destroy();
  }
}

/** The set of loaded documents: loads on demand (deduplicated), unloads idle ones. */
export class DocumentManager {
  readonly docs = new Map<string, SyncDocument>();
  private readonly loading = new Map<string, Promise<SyncDocument>>();
  private readonly writer: AppendBatcher;
  private readonly dirty = new Set<SyncDocument>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: DocumentStore,
    private readonly options: DocumentOptions & { maxLoadedDocuments: number },
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** Scale-out (SCALE-*): every loaded document joins it; null = a single instance. */
    private readonly bus: DocumentBus | null = null,
  ) {
    this.writer = new AppendBatcher(store);
    // SCALE-6: after Redis was lost, every loaded document resyncs with its peers.
    bus?.onReconnect(() => {
      for (const doc of this.docs.values()) void doc.resyncAfterReconnect();
    });
  }

  /** DUR-2: a document with new updates is flushed within debounceMs, together with every other dirty one. */
  private requestFlush(doc: SyncDocument): void {
    this.dirty.add(doc);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      const docs = [...this.dirty];
      this.dirty.clear();
      for (const d of docs) if (!d.destroyed) void d.flush();
    }, this.options.debounceMs);
  }

  get size(): number {
    return this.docs.size;
  }

  /** The loaded document, loading it first if needed. Throws DocumentStateError('unavailable') when full or the store fails. */
  async get(name: string): Promise<SyncDocument> {
    const loaded = this.docs.get(name);
    if (loaded) {
      loaded.cancelUnload();
      return loaded;
    }
    let loading = this.loading.get(name);
    if (!loading) {
      if (this.docs.size + this.loading.size >= this.options.maxLoadedDocuments) {
        throw new DocumentStateError('too many loaded documents', 'unavailable');
      }
      loading = this.load(name);
      this.loading.set(name, loading);
    }
    return loading;
  }

  private async load(name: string): Promise<SyncDocument> {
    const doc = new SyncDocument(
      name,
      this.store,
      this.writer,
      this.options,
      this.metrics,
      this.log,
      (d) => this.unload(d),
      (d) => this.requestFlush(d),
    );
    if (this.bus) doc.replica = new DocumentReplica(doc, this.bus);
    try {
      await doc.load();
      this.docs.set(name, doc);
      this.metrics.documentsLoaded.set(this.docs.size);
      return doc;
    } catch (err) {
      doc.destroy();
      this.metrics.persistFailures.inc({ op: 'load' });
      this.log.error('document could not be loaded', { doc: name, err });
      throw new DocumentStateError('the document could not be loaded', 'unavailable');
    } finally {
      this.loading.delete(name);
    }
  }

  /** Runs `fn` with the document held in memory (internal API). */
  async use<T>(name: string, fn: (doc: SyncDocument) => Promise<T> | T): Promise<T> {
    const doc = await this.get(name);
    doc.holds++;
    try {
      return await fn(doc);
    } finally {
      doc.holds--;
      if (doc.peers.size === 0) doc.scheduleUnload();
    }
  }

  private unload(doc: SyncDocument): void {
    if (this.docs.get(doc.name) !== doc || !doc.idle) return;
    this.docs.delete(doc.name);
    doc.destroy();
    this.metrics.documentsLoaded.set(this.docs.size);
    this.log.debug('document unloaded', { doc: doc.name });
  }

  /**
   * Flushes every document (shutdown, tests), including updates other instances have not confirmed
   * as stored (SCALE-3: their instance may be gone). Resolves with the names that still hold unstored data.
   */
  async flushAll(): Promise<string[]> {
    const results = await Promise.all(
      [...this.docs.values()].map(async (d) => {
        d.storeUnconfirmedNow();
        return (await d.flush()) ? null : d.name;
      }),
    );
    return results.filter((n): n is string => n !== null);
  }

  /** Drops every document from memory (after flushAll at shutdown, or a simulated crash in tests). */
  destroyAll(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.dirty.clear();
    for (const doc of this.docs.values()) doc.destroy();
    this.docs.clear();
    this.metrics.documentsLoaded.set(0);
  }
}
