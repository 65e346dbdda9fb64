/**
 * The lock protocol of one document (SPEC.md LOCK-*, SCALE-4): locking at the state the reviewer
 * saw, unlocking, and following a lock taken through another instance. The state itself is the
 * `DocumentLock`'s; storing is the writer's; this class sequences them with the bus and the
 * notices, and decides where a client update goes while a lock exists or is being decided.
 */
import type { SyncNotice } from '@pacs/shared';
import { holdsUnseen, isAheadOf } from '@pacs/shared/report-document';
import * as Y from 'yjs';
import { DocumentStateError, LockConflictError } from './document-errors';
import type { DocumentLock, HeldUpdate } from './lock';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { Peer } from './peer';
import type { DocumentWriter } from './persistence/document-writer';
import { RemoteOrigin, type Replica } from './scale-out/host';
import type { DocumentStore, LockRecord } from './store';

/** SCALE-4: a frozen instance that hears nothing from the locker decides from the database after this long. */
export const REMOTE_FREEZE_EXPIRY_MS = 20_000;

export interface LockResult {
  update: Uint8Array;
  stateVector: Uint8Array;
  lockedAt: Date;
  lockedBy: string;
  alreadyLocked: boolean;
}

/** What the lock protocol needs from its document. */
export interface FinalizationHost {
  readonly name: string;
  readonly reportId: string;
  readonly doc: Y.Doc;
  readonly destroyed: boolean;
  readonly peers: ReadonlyMap<Peer, unknown>;
  readonly replica: Replica | null;
  notify(notice: SyncNotice, only?: Peer): void;
  /** A client update, routed again once a lock attempt is over. */
  receiveUpdate(peer: Peer, update: Uint8Array): void;
  applyRemoteUpdate(origin: RemoteOrigin, update: Uint8Array): void;
  storeUnconfirmedNow(): void;
  flush(): Promise<boolean>;
  scheduleUnload(): void;
}

export class Finalization {
  constructor(
    private readonly host: FinalizationHost,
    private readonly state: DocumentLock,
    private readonly writer: DocumentWriter,
    private readonly store: DocumentStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /**
   * LOCK-2: a client update waits while a lock is decided; LOCK-5: on a locked document it becomes
   * a late edit. True when the update was taken here (the document must not apply it).
   */
  intercept(peer: Peer, update: Uint8Array): boolean {
    if (this.state.hold(peer, update)) return true;
    if (!this.state.record) return false;
    this.keepLateEdit(peer, update);
    return true;
  }

  /** LOCK-5/LOCK-6: a new late edit is kept for its sender and told to the other instances. */
  private keepLateEdit(peer: Peer | null, update: Uint8Array): void {
    if (!this.state.takeLateEdit(update)) return;
    this.host.replica?.publishLateEdit(update);
    const edit = { userId: peer?.userId ?? 'unknown', userName: peer?.userName ?? '', data: update, createdAt: new Date() };
    this.writer.addLateEdit(edit, () => {
      if (peer && this.host.peers.has(peer)) this.host.notify({ type: 'late-edit-stored', reportId: this.host.reportId }, peer);
    });
  }

  private resume(held: HeldUpdate[] | null): void {
    for (const h of held ?? []) this.host.receiveUpdate(h.peer, h.update);
  }

  private fullState(): { update: Uint8Array; stateVector: Uint8Array } {
    return { update: Y.encodeStateAsUpdate(this.host.doc), stateVector: Y.encodeStateVector(this.host.doc) };
  }

  /**
   * LOCK-1..LOCK-4, LOCK-8: refuse when the document holds anything the reviewer has not seen;
   * otherwise stop applying updates, store everything, store the lock, tell the peers. With
   * scale-out (SCALE-4) every other instance holding the document is frozen first and sends what
   * it holds, so the check and the stored state cover every instance.
   */
  async lock(stateVector: Uint8Array, snapshot: Uint8Array | undefined, lockedBy: string): Promise<LockResult> {
    const existing = this.state.record;
    if (existing) return { ...this.fullState(), lockedAt: existing.lockedAt, lockedBy: existing.lockedBy, alreadyLocked: true };
    if (this.state.frozenBy) throw new DocumentStateError('another instance is locking this document', 'unavailable');
    let seen: Map<number, number>;
    let seenSnapshot: Y.Snapshot | undefined;
    try {
      seen = Y.decodeStateVector(stateVector);
      seenSnapshot = snapshot ? Y.decodeSnapshot(snapshot) : undefined;
    } catch {
      throw new DocumentStateError('stateVector or snapshot is not a valid Yjs encoding', 'bad-request');
    }
    this.state.beginLocking();
    try {
      return await this.lockAt(seen, seenSnapshot, lockedBy);
    } finally {
      // Whatever went wrong, the document never stays in `locking`.
      this.resume(this.state.abandon());
    }
  }

  private async lockAt(seen: Map<number, number>, seenSnapshot: Y.Snapshot | undefined, lockedBy: string): Promise<LockResult> {
    const { host } = this;
    const giveUp = (lockId: string | null, outcome: 'conflict' | 'error') => {
      if (lockId) host.replica?.release(lockId);
      this.resume(this.state.abandon());
      this.metrics.locks.inc({ outcome });
    };
    let lockId: string | null = null;
    if (host.replica) {
      try {
        const frozen = await host.replica.freeze(Y.encodeStateVector(host.doc));
        lockId = frozen.lockId;
        for (const diff of frozen.diffs) host.applyRemoteUpdate(new RemoteOrigin(diff.from, 0), diff.update);
      } catch (err) {
        giveUp(null, 'error');
        this.log.error('lock failed: the other instances could not be frozen; document stays editable', { doc: host.name, err });
        throw new DocumentStateError('the other sync-server instances could not be reached; nothing was locked', 'unavailable');
      }
    }
    if (holdsUnseen(host.doc, seen, seenSnapshot)) {
      giveUp(lockId, 'conflict');
      throw new LockConflictError('the document holds updates the reviewer has not seen', Y.encodeStateVector(host.doc));
    }
    const lock: LockRecord = { lockedBy, lockedAt: new Date(), stateVector: Y.encodeStateVector(host.doc) };
    try {
      // SCALE-4: what other instances hold unstored is stored here, before the lock row.
      host.storeUnconfirmedNow();
      if (!(await host.flush())) throw new Error('pending updates could not be stored');
      await this.writer.run('lock', () => this.store.setLock(host.name, lock));
    } catch (err) {
      giveUp(lockId, 'error');
      this.log.error('lock failed; document stays editable', { doc: host.name, err });
      throw new DocumentStateError('the document could not be stored; nothing was locked', 'unavailable');
    }
    const held = this.state.lock(lock);
    if (lockId) host.replica?.locked(lockId, lock);
    for (const h of held) this.keepLateEdit(h.peer, h.update);
    this.metrics.locks.inc({ outcome: 'locked' });
    this.log.info('document locked', { doc: host.name, lockedBy, peers: host.peers.size });
    host.notify({ type: 'locked', reportId: host.reportId, lockedAt: lock.lockedAt.toISOString() });
    return { ...this.fullState(), lockedAt: lock.lockedAt, lockedBy, alreadyLocked: false };
  }

  /** LOCK-7: the API's return-to-resident path. Late edits stay listed. */
  async unlock(): Promise<boolean> {
    const { host } = this;
    if (!this.state.record) return false;
    await host.flush();
    try {
      await this.writer.run('unlock', () => this.store.clearLock(host.name));
    } catch (err) {
      this.log.error('unlock failed; document stays locked', { doc: host.name, err });
      throw new DocumentStateError('the lock could not be removed; the document stays locked', 'unavailable');
    }
    this.state.unlock();
    this.metrics.locks.inc({ outcome: 'unlocked' });
    this.log.info('document unlocked', { doc: host.name, peers: host.peers.size });
    host.replica?.publishUnlocked();
    host.notify({ type: 'unlocked', reportId: host.reportId });
    return true;
  }

  // ------------------------------------------------------------------ through another instance (SCALE-4)

  /** Another instance is locking: client updates wait until it locks or releases. */
  remoteFreeze(lockId: string): void {
    if (this.host.destroyed) return;
    this.state.freeze(lockId, REMOTE_FREEZE_EXPIRY_MS, () => void this.decideFreezeFromStore(lockId));
  }

  /** The locker went silent (crash, Redis lost): the lock row in the database decides. */
  private async decideFreezeFromStore(lockId: string): Promise<void> {
    if (this.state.frozenBy !== lockId || this.host.destroyed) return;
    try {
      const lock = await this.store.getLock(this.host.name);
      if (lock) this.remoteLock(lock);
      else this.remoteRelease(lockId);
    } catch (err) {
      this.log.error('frozen document: lock state unreadable; still waiting', { doc: this.host.name, err });
      this.state.rearm(lockId, 1_000, () => void this.decideFreezeFromStore(lockId));
    }
  }

  /** The document was locked through another instance; what waited becomes late edits (LOCK-5). */
  remoteLock(lock: LockRecord): void {
    const { host } = this;
    const kind = this.state.kind;
    if (kind === 'locked' || kind === 'locking') return;
    // Only if this instance missed the freeze (cut off from Redis meanwhile, SCALE-6): what it
    // applied beyond the signed state is kept as a late edit of an unknown user.
    if (isAheadOf(host.doc, Y.decodeStateVector(lock.stateVector))) {
      const beyond = Y.encodeStateAsUpdate(host.doc, lock.stateVector);
      this.writer.addLateEdit({ userId: 'unknown', userName: '', data: beyond, createdAt: new Date() });
      this.log.warn('locked elsewhere while this instance applied edits beyond the signed state; kept as a late edit', {
        doc: host.name,
      });
    }
    const held = this.state.lock(lock);
    for (const h of held) this.keepLateEdit(h.peer, h.update);
    this.log.info('document locked through another instance', { doc: host.name, lockedBy: lock.lockedBy, peers: host.peers.size });
    host.notify({ type: 'locked', reportId: host.reportId, lockedAt: lock.lockedAt.toISOString() });
  }

  remoteRelease(lockId: string): void {
    const held = this.state.thaw(lockId);
    if (!held) return;
    this.resume(held);
    if (this.host.peers.size === 0) this.host.scheduleUnload();
  }

  remoteUnlock(): void {
    if (!this.state.unlock()) return;
    this.log.info('document unlocked through another instance', { doc: this.host.name, peers: this.host.peers.size });
    this.host.notify({ type: 'unlocked', reportId: this.host.reportId });
  }

  /** SCALE-6: after Redis was lost, messages may have been missed: the lock row decides. */
  async reconcileWithStore(): Promise<void> {
    try {
      const lock = await this.store.getLock(this.host.name);
      if (lock && !this.state.record) this.remoteLock(lock);
      else if (!lock && this.state.record) this.remoteUnlock();
    } catch (err) {
      this.log.error('lock state unreadable after redis reconnect', { doc: this.host.name, err });
    }
  }
}
