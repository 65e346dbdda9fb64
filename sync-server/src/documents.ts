/**
 * One loaded document (SPEC.md DOC-*): its Y.Doc and awareness, the connections on it, and the
 * relay of updates between them. The state it does not own itself it composes: what is still to
 * be stored is the `DocumentWriter`'s (DUR-*), whether it is locked is the `DocumentLock`'s
 * (LOCK-*), and what other instances need is the attached `Replica`'s (SCALE-*), which reaches
 * this class only through `ReplicaHost`.
 */
import { parseReportDocumentName, type SyncNotice, TEMPLATE_AUTHOR_ID } from '@pacs/shared';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { type Author, type AuthorshipRecord, ClientAuthors } from './authorship/client-authors';
import { filterAwarenessUpdate } from './awareness-policy';
import { DocumentStateError } from './document-errors';
import { Finalization, type FinalizationHost, type LockResult } from './finalization';
import { DocumentLock, updateAddsTo } from './lock';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { Peer } from './peer';
import type { AppendBatcher } from './persistence/append-batcher';
import { DocumentWriter } from './persistence/document-writer';
import { encodeAwareness, encodeNotice, encodeUpdateMessage } from './protocol';
import { type RelayedUpdate, RemoteOrigin, type Replica, type ReplicaHost } from './scale-out/host';
import type { DocumentStore, LateEditRecord, LockRecord, StoredAuthorship } from './store';

export interface DocumentOptions {
  debounceMs: number;
  compactAfterUpdates: number;
  unloadDelayMs: number;
}

export type { LockResult };

const LOAD_ORIGIN = Symbol('load');
const SEED_ORIGIN = Symbol('seed');
/** Awareness that arrived from another instance through the bus (SCALE-*). */
const REMOTE_AWARENESS = Symbol('remote-awareness');
/** AUTHOR-4: what a template seeded was typed by no user. */
const TEMPLATE_AUTHOR: Author = { userId: TEMPLATE_AUTHOR_ID, userName: 'Template' };

export class SyncDocument implements ReplicaHost, FinalizationHost {
  readonly doc = new Y.Doc({ gc: true });
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly reportId: string;
  /** Connections and the awareness client ids each controls (PRES-1). */
  readonly peers = new Map<Peer, Set<number>>();
  /** Awareness client id → the connection that introduced it (PRES-1). */
  private readonly awarenessOwners = new Map<number, Peer>();
  /** Which user each Yjs client id belongs to (AUTHOR-*). */
  private readonly authors = new ClientAuthors();
  private readonly writer: DocumentWriter;
  private readonly lockState: DocumentLock;
  private readonly finalization: Finalization;
  private attached: Replica | null = null;
  private opChain: Promise<unknown> = Promise.resolve();
  private unloadTimer: NodeJS.Timeout | null = null;
  /** Internal API operations in progress (they keep the document loaded). */
  holds = 0;
  destroyed = false;

  constructor(
    readonly name: string,
    private readonly store: DocumentStore,
    batcher: AppendBatcher,
    private readonly options: DocumentOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly onIdle: (doc: SyncDocument) => void,
    /** Asks the manager for a flush within `debounceMs` (one timer for all documents). */
    requestFlush: (doc: SyncDocument) => void,
  ) {
    this.reportId = parseReportDocumentName(name) ?? name;
    this.lockState = new DocumentLock(this.doc);
    this.writer = new DocumentWriter(name, store, batcher, options.compactAfterUpdates, metrics, log, {
      state: () => Y.encodeStateAsUpdate(this.doc),
      requestFlush: () => requestFlush(this),
      // SCALE-3: own updates are numbered by the replica; a stored batch confirms them to the peers.
      checkpoint: () => this.replica?.lastSeq ?? 0,
      stored: (seq) => this.replica?.publishStored(seq),
      recovered: () => {
        if (this.peers.size === 0) this.scheduleUnload();
      },
    });
    this.finalization = new Finalization(this, this.lockState, this.writer, store, metrics, log);
    this.awareness.setLocalState(null);
    this.doc.on('update', this.onUpdate);
    this.awareness.on('update', this.onAwareness);
  }

  /** Scale-out joins from outside, before `load`. */
  attachReplica(replica: Replica): void {
    this.attached = replica;
  }

  /** Scale-out membership (SCALE-*); null on a single instance. */
  get replica(): Replica | null {
    return this.attached;
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
    this.writer.logLength = stored.logLength;
    this.authors.restore(stored.authors);
    if (stored.lock) {
      const lateEdits = await this.store.listLateEdits(this.name);
      this.lockState.restore(
        stored.lock,
        lateEdits.map((edit) => edit.data),
      );
    }
    if (this.replica) {
      if (freezing && !stored.lock) this.enterRemoteFreeze(freezing);
      this.replica.ready();
    }
  }

  /** The finalization lock, or null while the document is editable. */
  get lock(): LockRecord | null {
    return this.lockState.record;
  }

  get isEmpty(): boolean {
    return this.doc.store.clients.size === 0 && this.doc.store.pendingStructs === null;
  }

  // ------------------------------------------------------------------ peers and relay

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
   * A sync step 2 or update from a peer (already validated as decodable). LOCK-2: it waits while a
   * lock is decided; LOCK-5: on a locked document it becomes a late edit; RO-1: a read-only
   * peer's update is never applied.
   */
  receiveUpdate(peer: Peer, update: Uint8Array): void {
    if (this.finalization.intercept(peer, update)) return;
    if (peer.mode !== 'rw') {
      if (updateAddsTo(this.doc, update)) {
        this.metrics.refusedUpdates.inc({ reason: 'read-only' });
        this.log.warn('update from a read-only connection refused', { doc: this.name, user: peer.userId, bytes: update.byteLength });
      }
      return;
    }
    Y.applyUpdate(this.doc, update, peer);
  }

  /** The user an applied transaction is attributed to (AUTHOR-1, AUTHOR-4). */
  private authorOf(origin: unknown): Author | null {
    if (origin === SEED_ORIGIN) return TEMPLATE_AUTHOR;
    if (origin instanceof RemoteOrigin) return origin.author;
    const peer = origin as Partial<Peer> | null;
    return typeof peer?.userId === 'string' && typeof peer.userName === 'string' ? { userId: peer.userId, userName: peer.userName } : null;
  }

  private readonly onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, transaction: Y.Transaction): void => {
    if (origin === LOAD_ORIGIN) return;
    const message = encodeUpdateMessage(update);
    const author = this.authorOf(origin);
    if (origin instanceof RemoteOrigin) {
      // SCALE-1/3: relayed to local clients; stored (with its authorship) by the instance it came
      // from, or by us later. The binding is known here at once, for AUTHOR-2.
      if (author) this.authors.learnFrom(transaction, author);
      this.replica?.received(origin, update);
      for (const peer of this.peers.keys()) peer.send(message);
      return;
    }
    this.metrics.counts.updates++;
    this.writer.add(update);
    if (author) this.recordAuthorship(this.authors.recordTransaction(transaction, author), author);
    for (const peer of this.peers.keys()) if (peer !== origin) peer.send(message);
    this.replica?.publishUpdate(update, author);
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
    if (origin !== REMOTE_AWARENESS) this.replica?.publishAwareness(update);
  };

  notify(notice: SyncNotice, only?: Peer): void {
    const message = encodeNotice(notice);
    if (only) only.send(message);
    else for (const peer of this.peers.keys()) peer.send(message);
  }

  // ------------------------------------------------------------------ storing (DUR-*)

  /** Stores everything pending; false when something is left for a retry (DUR-4). */
  flush(): Promise<boolean> {
    return this.writer.flush();
  }

  /** Compacts if the log has more than one row (called before unloading and by tests). */
  compact(): Promise<void> {
    return this.writer.compact();
  }

  /** Shutdown (and a lock): remote updates not yet confirmed by their instance are stored here too (SCALE-3). */
  storeUnconfirmedNow(): void {
    if (this.replica) this.storeRelayed(this.replica.takeUnconfirmed());
  }

  async lateEdits(): Promise<LateEditRecord[]> {
    await this.flush();
    return this.store.listLateEdits(this.name);
  }

  /**
   * AUTHOR-3: the document's state with the authorship of everything in it: the stored bindings
   * (some may have come from another instance) then this instance's, and the stored deletions
   * after storing what is pending (a failure to store → DocumentStateError).
   */
  async authorship(): Promise<StoredAuthorship & { update: Uint8Array }> {
    if (!(await this.flush())) throw new DocumentStateError('the document could not be stored', 'unavailable');
    const stored = await this.store.loadAuthorship(this.name);
    const known = new Set(stored.clients.map((c) => c.clientId));
    const clients = [...stored.clients, ...this.authors.all().filter((c) => !known.has(c.clientId))];
    return { update: Y.encodeStateAsUpdate(this.doc), clients, ranges: stored.ranges };
  }

  // ------------------------------------------------------------------ internal operations

  /** Runs internal operations of this document one at a time. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.opChain.then(fn, fn);
    this.opChain = run.catch(() => undefined);
    return run;
  }

  /** LOCK-1..LOCK-4, LOCK-8 (finalization.ts). */
  lockDocument(stateVector: Uint8Array, snapshot: Uint8Array | undefined, lockedBy: string): Promise<LockResult> {
    return this.exclusive(() => this.finalization.lock(stateVector, snapshot, lockedBy));
  }

  /** LOCK-7: the API's return-to-resident path. Late edits stay listed. */
  unlockDocument(): Promise<boolean> {
    return this.exclusive(() => this.finalization.unlock());
  }

  /** SEED-1: initial content from a template, only into an empty, unlocked document. */
  seed(update: Uint8Array): Promise<Uint8Array> {
    return this.exclusive(async () => {
      if (this.lockState.record) throw new DocumentStateError('the document is locked', 'locked');
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
    return { update: Y.encodeStateAsUpdate(this.doc), stateVector: Y.encodeStateVector(this.doc), lock: this.lockState.record };
  }

  // ------------------------------------------------------------------ from other instances (ReplicaHost)

  /** An update another instance applied (or a sync answer). Not applied to a locked document. */
  applyRemoteUpdate(origin: RemoteOrigin, update: Uint8Array): void {
    if (this.lockState.record) {
      if (updateAddsTo(this.doc, update))
        this.log.warn('update from another instance for a locked document not applied', { doc: this.name });
      return;
    }
    try {
      Y.applyUpdate(this.doc, update, origin);
    } catch (err) {
      this.log.warn('update from another instance could not be applied', { doc: this.name, err });
    }
  }

  applyRemoteAwareness(update: Uint8Array): void {
    try {
      awarenessProtocol.applyAwarenessUpdate(this.awareness, update, REMOTE_AWARENESS);
    } catch (err) {
      this.log.warn('awareness from another instance could not be applied', { doc: this.name, err });
    }
  }

  /** SCALE-3 with AUTHOR-5: updates of another instance, stored with their authorship. */
  private storeRelayed(updates: readonly RelayedUpdate[]): void {
    for (const { update, author } of updates) {
      this.writer.add(update);
      if (author) this.writer.addAuthorship(this.authors.recordRelayed(update, author));
    }
  }

  /**
   * AUTHOR-2: text under another user's client id is applied (a client resends what the server
   * lost, DUR-8) but stays that user's, marked as relayed by the sender; counted and logged,
   * as a forgery would be.
   */
  private recordAuthorship(record: AuthorshipRecord, author: Author): void {
    if (record.ranges.some((r) => r.kind === 'relayed')) {
      this.metrics.relayedUpdates.inc();
      this.log.warn("update under another user's client id recorded as relayed", { doc: this.name, user: author.userId });
    }
    this.writer.addAuthorship(record);
  }

  storeForOthers(updates: RelayedUpdate[]): void {
    this.log.info('storing updates another instance did not confirm', { doc: this.name, updates: updates.length });
    this.storeRelayed(updates);
    void this.flush().then((ok) => {
      if (ok && this.peers.size === 0) this.scheduleUnload();
    });
  }

  othersSettled(): void {
    if (this.peers.size === 0) this.scheduleUnload();
  }

  enterRemoteFreeze(lockId: string): void {
    this.finalization.remoteFreeze(lockId);
  }

  releaseRemoteFreeze(lockId: string): void {
    this.finalization.remoteRelease(lockId);
  }

  applyRemoteLock(lock: LockRecord): void {
    this.finalization.remoteLock(lock);
  }

  applyRemoteUnlock(): void {
    this.finalization.remoteUnlock();
  }

  /** A late edit another instance stored: remembered so a replay here is not stored again (LOCK-6). */
  applyRemoteLateEdit(update: Uint8Array): void {
    this.lockState.rememberLateEdit(update);
  }

  /** SCALE-6: after Redis was lost, the lock row decides whether the document is locked, then the peers exchange what they missed. */
  async resyncAfterReconnect(): Promise<void> {
    if (this.destroyed || !this.replica) return;
    await this.finalization.reconcileWithStore();
    if (!this.destroyed) this.replica?.resync();
  }

  // ------------------------------------------------------------------ unloading (DOC-3, DUR-6)

  /** True when the document can leave memory without losing anything. */
  get idle(): boolean {
    const kind = this.lockState.kind;
    return (
      this.peers.size === 0 &&
      this.holds === 0 &&
      this.writer.settled &&
      (kind === 'open' || kind === 'locked') &&
      (this.replica?.unconfirmedCount ?? 0) === 0
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
    this.writer.close();
    this.lockState.destroy();
    this.attached?.close();
    this.awareness.destroy();
    this.doc.destroy();
  }
}
