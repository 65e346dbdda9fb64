/**
 * "Sign what you saw": a document may be locked and signed only if it holds nothing the signer has
 * not seen. The sync-server checks it when it locks; the API checks it again on an already-locked
 * document. One definition, so the two cannot disagree.
 */
import * as Y from 'yjs';

/** True when `have` holds every clock of `want`. */
export function covers(have: ReadonlyMap<number, number>, want: ReadonlyMap<number, number>): boolean {
  for (const [client, clock] of want) if ((have.get(client) ?? 0) < clock) return false;
  return true;
}

/** Whether `doc` holds insertions beyond the state vector `seen`. */
export function isAheadOf(doc: Y.Doc, seen: ReadonlyMap<number, number>): boolean {
  return !covers(seen, Y.decodeStateVector(Y.encodeStateVector(doc)));
}

/**
 * Whether `doc` holds anything a reader at `seen` has not seen: an insertion beyond its clocks, or,
 * when the reader's snapshot is given, a deletion the snapshot does not have. Structs still
 * pending in the doc (missing dependencies) are not part of the visible document and do not count:
 * otherwise one client's broken update could block signing for ever.
 */
export function holdsUnseen(doc: Y.Doc, seen: ReadonlyMap<number, number>, seenSnapshot?: Y.Snapshot): boolean {
  if (isAheadOf(doc, seen)) return true;
  if (!seenSnapshot) return false;
  const deletions = Y.createDeleteSetFromStructStore(doc.store);
  return !Y.equalDeleteSets(seenSnapshot.ds, Y.mergeDeleteSets([seenSnapshot.ds, deletions]));
}
