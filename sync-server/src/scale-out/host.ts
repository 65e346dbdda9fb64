/**
 * The seam between a loaded document and its scale-out membership (SPEC.md SCALE-*), in both
 * directions, as interfaces only: the document implements `ReplicaHost`, `DocumentReplica`
 * implements `Replica`, and the document manager joins the two from outside (as Hocuspocus's
 * Redis extension hooks into its server). Neither imports the other.
 */

import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { Author } from '../authorship/client-authors';
import type { LockRecord } from '../store';

/** The origin of an update applied from another instance: who sent it and its number there (SCALE-3). */
export class RemoteOrigin {
  constructor(
    readonly from: string,
    readonly seq: number,
    /** The user whose client sent it (AUTHOR-1); null for sync answers, which mix authors. */
    readonly author: Author | null = null,
  ) {}
}

/** An update another instance applied, with its author, kept until that instance stores it (SCALE-3). */
export interface RelayedUpdate {
  update: Uint8Array;
  author: Author | null;
}

/** What a replica needs from its document. */
export interface ReplicaHost {
  readonly name: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly destroyed: boolean;
  /** Awareness of this instance's own clients, for a resync. */
  localAwarenessUpdate(): Uint8Array | null;
  /** Applies an update another instance sent; the document reports what changed back through `Replica.received`. */
  applyRemoteUpdate(origin: RemoteOrigin, update: Uint8Array): void;
  applyRemoteAwareness(update: Uint8Array): void;
  /** SCALE-4: another instance is locking. */
  enterRemoteFreeze(lockId: string): void;
  releaseRemoteFreeze(lockId: string): void;
  applyRemoteLock(lock: LockRecord): void;
  applyRemoteUnlock(): void;
  applyRemoteLateEdit(update: Uint8Array): void;
  /** SCALE-3: updates whose instance never confirmed storing them; this instance stores them. */
  storeForOthers(updates: RelayedUpdate[]): void;
  /** Every remote update is confirmed stored: nothing of others keeps the document loaded. */
  othersSettled(): void;
}

/** What a document calls on its replica. */
export interface Replica {
  /** Before loading from the database: subscribe; resolves with a freeze in progress (SCALE-2). */
  join(): Promise<string | null>;
  /** After loading: replay what arrived meanwhile and ask the peers for what the database lacks. */
  ready(): void;
  /** SCALE-6: state vector and local awareness to every peer again. */
  resync(): void;
  /** An update this instance's clients made, numbered for `stored` (SCALE-1, SCALE-3). */
  publishUpdate(update: Uint8Array, author: Author | null): void;
  publishAwareness(update: Uint8Array): void;
  publishLateEdit(update: Uint8Array): void;
  publishUnlocked(): void;
  /** The number of the last own update published (a writer checkpoint). */
  readonly lastSeq: number;
  /** Own updates up to `seq` are stored: tells the peers once per advance (SCALE-3). */
  publishStored(seq: number): void;
  /** An update from another instance was applied here: kept until its instance confirms storing it (SCALE-3). */
  received(origin: RemoteOrigin, update: Uint8Array): void;
  /** Remote updates not yet confirmed by their instance, handed over to be stored here (shutdown, lock). */
  takeUnconfirmed(): RelayedUpdate[];
  readonly unconfirmedCount: number;
  /** SCALE-4: freezes every instance holding the document and collects what each holds beyond `stateVector`. */
  freeze(stateVector: Uint8Array): Promise<{ lockId: string; diffs: { from: string; update: Uint8Array }[] }>;
  locked(lockId: string, lock: LockRecord): void;
  release(lockId: string): void;
  close(): void;
}
