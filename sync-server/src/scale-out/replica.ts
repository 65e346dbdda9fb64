/**
 * One loaded document's membership in the scale-out bus (SPEC.md SCALE-*): the protocol between
 * instances. It turns bus messages into calls on its host document and the document's calls into
 * bus messages, and keeps the bookkeeping that exists only because there are other instances: the
 * numbering of own updates, and the updates of others not yet confirmed stored by their instance.
 * It knows its document only through `ReplicaHost` (host.ts).
 *
 *   load:    join (subscribe, buffering messages) → read the freeze marker → load from the
 *            database → replay the buffer → `sync1` (peers answer `sync2` with what it lacks, and
 *            their awareness)                                                      SCALE-2
 *   edit:    each applied client update → `update`; each stored batch → `stored`   SCALE-1, SCALE-3
 *   lock:    marker (SET NX) → `freeze` → one `ack` (with the diff) per subscriber → check,
 *            store, lock row → `locked` (or `release`)                              SCALE-4
 *   reconnect after Redis was lost: `sync1` and awareness again for every document  SCALE-6
 */
import { randomUUID } from 'node:crypto';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { Author } from '../authorship/client-authors';
import type { LockRecord } from '../store';
import type { BusMessage, DocumentBus } from './bus';
import { type RelayedUpdate, RemoteOrigin, type Replica, type ReplicaHost } from './host';

/** How long the locking instance waits for every other instance's answer to a freeze. */
export const FREEZE_ACK_TIMEOUT_MS = 5_000;
/** Lifetime of the freeze marker in Redis (a crashed locker's marker disappears by itself). */
export const FREEZE_MARKER_TTL_MS = 15_000;
/**
 * SCALE-3: an update another instance applied is stored by that instance; this one keeps it until
 * that instance says `stored`, and stores it itself after this long without.
 */
export const UNCONFIRMED_STORE_AFTER_MS = 2_000;

interface AckWaiter {
  lockId: string;
  expected: number;
  received: number;
  diffs: { from: string; update: Uint8Array }[];
  done: () => void;
}

interface UnconfirmedUpdate {
  from: string;
  seq: number;
  update: Uint8Array;
  author: Author | null;
  at: number;
}

export class DocumentReplica implements Replica {
  /** Messages received while the document loads; replayed in order once it is loaded. */
  private buffer: BusMessage[] | null = [];
  private waiter: AckWaiter | null = null;
  private closed = false;
  /** Number of the last update this instance applied from its own clients. */
  private seq = 0;
  private storedSeqAnnounced = 0;
  /** Updates from other instances that their instance has not yet confirmed as stored. */
  private unconfirmed: UnconfirmedUpdate[] = [];
  private unconfirmedTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly doc: ReplicaHost,
    private readonly bus: DocumentBus,
  ) {}

  get lastSeq(): number {
    return this.seq;
  }

  get unconfirmedCount(): number {
    return this.unconfirmed.length;
  }

  get instanceId(): string {
    return this.bus.instanceId;
  }

  private send(message: BusMessage): void {
    if (!this.closed) this.bus.send(this.doc.name, message);
  }

  /** Before loading from the database: subscribe first, so nothing published meanwhile is missed. Returns a freeze in progress. */
  async join(): Promise<string | null> {
    await this.bus.join(this.doc.name, (m) => this.onMessage(m));
    return this.bus.freezeInProgress(this.doc.name);
  }

  /** After loading: replay what arrived meanwhile, then ask the peers for what the database lacks. */
  ready(): void {
    const buffered = this.buffer ?? [];
    this.buffer = null;
    for (const m of buffered) this.handle(m);
    this.resync(false);
  }

  /** SCALE-2/SCALE-6: state vector to every peer (they answer with the difference) plus local awareness. */
  resync(askBack = true): void {
    if (this.buffer !== null || this.closed) return;
    this.send({ t: 'sync1', from: this.instanceId, stateVector: Y.encodeStateVector(this.doc.doc), askBack });
    const local = this.doc.localAwarenessUpdate();
    if (local) this.send({ t: 'awareness', from: this.instanceId, update: local });
  }

  private onMessage(m: BusMessage): void {
    if (this.closed) return;
    // The locker's own freeze echo and the acks are counted even while loading.
    if (m.t === 'freeze' && m.from === this.instanceId) {
      if (this.waiter?.lockId === m.lockId) this.count(this.waiter);
      return;
    }
    if (m.t === 'ack') {
      if (m.to === this.instanceId && this.waiter?.lockId === m.lockId) {
        this.waiter.diffs.push({ from: m.from, update: m.update });
        this.count(this.waiter);
      }
      return;
    }
    if (m.from === this.instanceId) return;
    if (this.buffer) this.buffer.push(m);
    else this.handle(m);
  }

  private handle(m: BusMessage): void {
    const doc = this.doc;
    if (doc.destroyed) return;
    switch (m.t) {
      case 'update':
        doc.applyRemoteUpdate(new RemoteOrigin(m.from, m.seq, m.author), m.update);
        break;
      case 'sync2':
        // A sync answer may carry what its sender itself only holds unconfirmed (from a third
        // instance, possibly dead): never cleared by the sender's `stored`, so always stored here
        // after the delay unless it was already known (SCALE-3; a duplicate row is harmless).
        doc.applyRemoteUpdate(new RemoteOrigin(m.from, Number.MAX_SAFE_INTEGER), m.update);
        break;
      case 'awareness':
        doc.applyRemoteAwareness(m.update);
        break;
      case 'sync1': {
        let diff: Uint8Array;
        try {
          diff = Y.encodeStateAsUpdate(doc.doc, m.stateVector);
        } catch {
          return;
        }
        this.send({ t: 'sync2', from: this.instanceId, to: m.from, seq: this.seq, update: diff });
        if (m.askBack) this.resync(false);
        const states = doc.awareness.getStates();
        if (states.size > 0) {
          this.send({
            t: 'awareness',
            from: this.instanceId,
            update: awarenessProtocol.encodeAwarenessUpdate(doc.awareness, [...states.keys()]),
          });
        }
        break;
      }
      case 'stored':
        this.confirmStored(m.from, m.seq);
        break;
      case 'freeze': {
        doc.enterRemoteFreeze(m.lockId);
        let diff: Uint8Array;
        try {
          diff = Y.encodeStateAsUpdate(doc.doc, m.stateVector);
        } catch {
          diff = Y.encodeStateAsUpdate(doc.doc);
        }
        this.send({ t: 'ack', from: this.instanceId, to: m.from, lockId: m.lockId, update: diff });
        break;
      }
      case 'locked':
        doc.applyRemoteLock({ lockedBy: m.lockedBy, lockedAt: new Date(m.lockedAt), stateVector: m.stateVector });
        break;
      case 'release':
        doc.releaseRemoteFreeze(m.lockId);
        break;
      case 'unlocked':
        doc.applyRemoteUnlock();
        break;
      case 'late':
        doc.applyRemoteLateEdit(m.update);
        break;
    }
  }

  private count(w: AckWaiter): void {
    w.received++;
    if (w.received >= w.expected) w.done();
  }

  // ------------------------------------------------------------------ unconfirmed updates (SCALE-3)

  received(origin: RemoteOrigin, update: Uint8Array): void {
    this.unconfirmed.push({ from: origin.from, seq: origin.seq, update, author: origin.author, at: Date.now() });
    this.scheduleUnconfirmedCheck();
  }

  /** `from` has stored its own updates up to `seq`: they no longer need us. */
  private confirmStored(from: string, seq: number): void {
    if (this.unconfirmed.length === 0) return;
    this.unconfirmed = this.unconfirmed.filter((u) => u.from !== from || u.seq > seq);
    if (this.unconfirmed.length === 0) {
      this.clearUnconfirmedTimer();
      this.doc.othersSettled();
    }
  }

  takeUnconfirmed(): RelayedUpdate[] {
    const all = this.unconfirmed;
    this.unconfirmed = [];
    this.clearUnconfirmedTimer();
    return all.map(({ update, author }) => ({ update, author }));
  }

  private scheduleUnconfirmedCheck(): void {
    if (this.unconfirmedTimer || this.closed) return;
    this.unconfirmedTimer = setTimeout(() => {
      this.unconfirmedTimer = null;
      this.storeUnconfirmed(Date.now() - UNCONFIRMED_STORE_AFTER_MS);
    }, UNCONFIRMED_STORE_AFTER_MS);
  }

  /**
   * Remote updates received before `receivedBefore` whose instance never confirmed them (it died,
   * or Redis or its database failed) are stored by this instance. A duplicate row is harmless:
   * applying a Yjs update twice changes nothing.
   */
  private storeUnconfirmed(receivedBefore: number): void {
    const late = this.unconfirmed.filter((u) => u.at <= receivedBefore);
    if (late.length > 0) {
      this.unconfirmed = this.unconfirmed.filter((u) => u.at > receivedBefore);
      this.doc.storeForOthers(late.map(({ update, author }) => ({ update, author })));
    }
    if (this.unconfirmed.length > 0) this.scheduleUnconfirmedCheck();
  }

  private clearUnconfirmedTimer(): void {
    if (this.unconfirmedTimer) clearTimeout(this.unconfirmedTimer);
    this.unconfirmedTimer = null;
  }

  // ------------------------------------------------------------------ calls from the document

  publishUpdate(update: Uint8Array, author: Author | null): void {
    this.send({ t: 'update', from: this.instanceId, seq: ++this.seq, update, author });
  }

  publishAwareness(update: Uint8Array): void {
    this.send({ t: 'awareness', from: this.instanceId, update });
  }

  publishStored(seq: number): void {
    if (seq <= this.storedSeqAnnounced) return;
    this.storedSeqAnnounced = seq;
    this.send({ t: 'stored', from: this.instanceId, seq });
  }

  publishLateEdit(update: Uint8Array): void {
    this.send({ t: 'late', from: this.instanceId, update });
  }

  publishUnlocked(): void {
    this.send({ t: 'unlocked', from: this.instanceId });
  }

  /**
   * SCALE-4: freezes the document on every instance that holds it and collects what each holds
   * beyond `stateVector`. Throws when another lock is in progress, Redis is down, or an instance
   * does not answer in time (then everyone is released).
   */
  async freeze(stateVector: Uint8Array): Promise<{ lockId: string; diffs: { from: string; update: Uint8Array }[] }> {
    const lockId = randomUUID();
    if (!(await this.bus.acquireFreeze(this.doc.name, lockId, FREEZE_MARKER_TTL_MS))) {
      throw new Error(this.bus.connected ? 'another instance is locking this document' : 'redis is unreachable');
    }
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve, reject) => {
      this.waiter = { lockId, expected: Number.POSITIVE_INFINITY, received: 0, diffs: [], done: resolve };
      timer = setTimeout(() => reject(new Error('an instance did not answer the freeze in time')), FREEZE_ACK_TIMEOUT_MS);
    });
    answered.catch(() => undefined);
    const waiter = this.waiter!;
    try {
      // Every subscriber of the channel, this instance included (its echo counts as its answer).
      const receivers = await this.bus.publish(this.doc.name, { t: 'freeze', from: this.instanceId, lockId, stateVector });
      if (receivers === null) throw new Error('redis is unreachable');
      waiter.expected = receivers;
      if (waiter.received >= receivers) waiter.done();
      await answered;
      return { lockId, diffs: waiter.diffs };
    } catch (err) {
      this.release(lockId);
      throw err;
    } finally {
      clearTimeout(timer);
      if (this.waiter === waiter) this.waiter = null;
    }
  }

  /*
   * The marker goes first (both commands travel in order on one connection): an instance that
   * still reads the marker subscribed before it went, so it also gets the message that follows.
   */
  locked(lockId: string, lock: LockRecord): void {
    this.bus.releaseFreeze(this.doc.name, lockId);
    this.send({
      t: 'locked',
      from: this.instanceId,
      lockId,
      lockedBy: lock.lockedBy,
      lockedAt: lock.lockedAt.getTime(),
      stateVector: lock.stateVector,
    });
  }

  release(lockId: string): void {
    this.bus.releaseFreeze(this.doc.name, lockId);
    this.send({ t: 'release', from: this.instanceId, lockId });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer = null;
    this.clearUnconfirmedTimer();
    this.bus.leave(this.doc.name);
  }
}
