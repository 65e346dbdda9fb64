/**
 * The finalization lock of one document (SPEC.md LOCK-*, SCALE-4) as one state field, the way
 * tldraw's room session keeps one: which of four states the document is in says at once where a
 * client update goes.
 *
 *   open ──beginLocking──▶ locking ──lock──▶ locked ──unlock──▶ open
 *     │                      └──abandon──▶ open
 *     └──freeze──▶ frozen ──lock──▶ locked      (another instance locked it)
 *                    └──thaw──▶ open            (it released, or the database says unlocked)
 *
 * While `locking` or `frozen`, client updates wait (LOCK-2); when `locked`, an update that adds
 * something becomes a late edit, once (LOCK-5, LOCK-6). This class holds state only: storing,
 * the bus and the notices belong to the document.
 */
import * as Y from 'yjs';
import { DocumentStateError } from './document-errors';
import type { Peer } from './peer';
import type { LockRecord } from './store';

/** A client update that arrived while a lock was being decided. */
export interface HeldUpdate {
  peer: Peer;
  update: Uint8Array;
}

type LockState =
  | { readonly kind: 'open' }
  /** This instance is deciding a lock (LOCK-1, LOCK-2). */
  | { readonly kind: 'locking'; readonly held: HeldUpdate[] }
  /** Another instance is deciding one (SCALE-4); `timer` asks the database if it goes silent. */
  | { readonly kind: 'frozen'; readonly lockId: string; timer: NodeJS.Timeout; readonly held: HeldUpdate[] }
  /** Signed. `lateDoc` is the document plus every late edit (LOCK-6), built when first needed. */
  | { readonly kind: 'locked'; readonly record: LockRecord; lateDoc: Y.Doc | null };

export type LockKind = LockState['kind'];

/** True when applying `update` would change `doc` (new structs or new deletions). */
export function updateAddsTo(doc: Y.Doc, update: Uint8Array): boolean {
  return !Y.snapshotContainsUpdate(Y.snapshot(doc), update);
}

export class DocumentLock {
  private state: LockState = { kind: 'open' };

  constructor(private readonly doc: Y.Doc) {}

  get kind(): LockKind {
    return this.state.kind;
  }

  /** The stored lock, or null when the document is not locked. */
  get record(): LockRecord | null {
    return this.state.kind === 'locked' ? this.state.record : null;
  }

  /** The lock id of the other instance's lock attempt this document waits for. */
  get frozenBy(): string | null {
    return this.state.kind === 'frozen' ? this.state.lockId : null;
  }

  /** LOCK-2 / SCALE-4: keeps a client update while a lock is decided; false when nothing is being decided. */
  hold(peer: Peer, update: Uint8Array): boolean {
    if (this.state.kind !== 'locking' && this.state.kind !== 'frozen') return false;
    this.state.held.push({ peer, update });
    return true;
  }

  /** LOCK-2: from now on client updates wait. Refused while another instance is locking (SCALE-4). */
  beginLocking(): void {
    if (this.state.kind === 'frozen') throw new DocumentStateError('another instance is locking this document', 'unavailable');
    if (this.state.kind !== 'open') throw new Error(`cannot begin locking a document that is ${this.state.kind}`);
    this.state = { kind: 'locking', held: [] };
  }

  /** The lock attempt failed or was refused: open again; returns what waited, to apply now. */
  abandon(): HeldUpdate[] {
    if (this.state.kind !== 'locking') return [];
    const { held } = this.state;
    this.state = { kind: 'open' };
    return held;
  }

  /** Locked here or through another instance; returns what waited, to keep as late edits (LOCK-5). */
  lock(record: LockRecord): HeldUpdate[] {
    const held = this.state.kind === 'locking' || this.state.kind === 'frozen' ? this.state.held : [];
    this.clearTimer();
    if (this.state.kind === 'locked') this.state.lateDoc?.destroy();
    this.state = { kind: 'locked', record, lateDoc: null };
    return held;
  }

  /** A lock read from the database at load, with the late edits stored so far (LOCK-4, LOCK-6). */
  restore(record: LockRecord, lateEdits: Uint8Array[]): void {
    this.lock(record);
    const lateDoc = this.lateDocOf();
    for (const edit of lateEdits) {
      try {
        Y.applyUpdate(lateDoc, edit);
      } catch {
        // A late edit that does not apply is still listed; it just cannot dedupe.
      }
    }
  }

  /** LOCK-7 (and an unlock through another instance): open again. False when it was not locked. */
  unlock(): boolean {
    if (this.state.kind !== 'locked') return false;
    this.state.lateDoc?.destroy();
    this.state = { kind: 'open' };
    return true;
  }

  /**
   * SCALE-4: another instance is locking; client updates wait until `lock`, `thaw`, or `onSilence`
   * after `silenceMs`. Ignored while this instance locks or when already locked.
   */
  freeze(lockId: string, silenceMs: number, onSilence: () => void): boolean {
    if (this.state.kind === 'locking' || this.state.kind === 'locked') return false;
    const held = this.state.kind === 'frozen' ? this.state.held : [];
    this.clearTimer();
    this.state = { kind: 'frozen', lockId, timer: setTimeout(onSilence, silenceMs), held };
    return true;
  }

  /** Asks again later while frozen by `lockId` (the database could not be read). */
  rearm(lockId: string, delayMs: number, onSilence: () => void): void {
    if (this.state.kind !== 'frozen' || this.state.lockId !== lockId) return;
    clearTimeout(this.state.timer);
    this.state.timer = setTimeout(onSilence, delayMs);
  }

  /** The other instance released `lockId`: open again; returns what waited, to apply now (null if not frozen by it). */
  thaw(lockId: string): HeldUpdate[] | null {
    if (this.state.kind !== 'frozen' || this.state.lockId !== lockId) return null;
    const { held } = this.state;
    this.clearTimer();
    this.state = { kind: 'open' };
    return held;
  }

  /**
   * LOCK-5/LOCK-6: on a locked document, records `update` as a late edit unless it adds nothing to
   * the document and the late edits already kept (a replay, an empty sync step 2). True when new.
   */
  takeLateEdit(update: Uint8Array): boolean {
    if (this.state.kind !== 'locked') return false;
    const lateDoc = this.lateDocOf();
    if (!updateAddsTo(lateDoc, update)) return false;
    Y.applyUpdate(lateDoc, update);
    return true;
  }

  /** A late edit another instance kept: remembered so a replay here is not kept again (LOCK-6). */
  rememberLateEdit(update: Uint8Array): void {
    if (this.state.kind !== 'locked') return;
    try {
      Y.applyUpdate(this.lateDocOf(), update);
    } catch {
      // Only dedupe is lost.
    }
  }

  destroy(): void {
    this.clearTimer();
    if (this.state.kind === 'locked') this.state.lateDoc?.destroy();
    this.state = { kind: 'open' };
  }

  private lateDocOf(): Y.Doc {
    if (this.state.kind !== 'locked') throw new Error('late edits exist only on a locked document');
    if (!this.state.lateDoc) {
      this.state.lateDoc = new Y.Doc({ gc: true });
      Y.applyUpdate(this.state.lateDoc, Y.encodeStateAsUpdate(this.doc));
    }
    return this.state.lateDoc;
  }

  private clearTimer(): void {
    if (this.state.kind === 'frozen') clearTimeout(this.state.timer);
  }
}
