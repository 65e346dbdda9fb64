/**
 * Who wrote what (SPEC.md AUTHOR-*): the binding of a document's Yjs client ids to the users whose
 * tokens first sent them, and what each applied transaction adds to the record. Everything here
 * is derived on the server from the token, never from what a client claims.
 */
import { type ClientBinding, type DeleteSet, encodeDeleteSet, rangesPerUser, type UserRanges } from '@pacs/shared/report-document';
import * as Y from 'yjs';

export interface Author {
  userId: string;
  userName: string;
}

/** What one flush stores next to its updates (AUTHOR-5: in the same write). */
export interface AuthorshipRecord {
  bindings: ClientBinding[];
  ranges: UserRanges[];
}

type ClockRanges = Map<number, { clock: number; len: number }[]>;

function rangesRecord(kind: UserRanges['kind'], author: Author, clients: ClockRanges): UserRanges[] {
  if (clients.size === 0) return [];
  const ds = Y.createDeleteSet();
  for (const [client, items] of clients) ds.clients.set(client, items as DeleteSet['clients'] extends Map<number, infer I> ? I : never);
  return [{ kind, ...author, ranges: encodeDeleteSet(ds) }];
}

export class ClientAuthors {
  private readonly byClient = new Map<number, Author>();

  /** The stored bindings (first by id wins: the store returns them in order). */
  restore(bindings: readonly ClientBinding[]): void {
    for (const b of bindings) if (!this.byClient.has(b.clientId)) this.byClient.set(b.clientId, { userId: b.userId, userName: b.userName });
  }

  /** Every binding known here, stored or not yet. */
  all(): ClientBinding[] {
    return [...this.byClient].map(([clientId, author]) => ({ clientId, ...author }));
  }

  /**
   * AUTHOR-1, AUTHOR-2: structs `author` delivered for the clock ranges [from, to) per client. A
   * client id becomes the author's only with its first struct (clock 0); anything else under a
   * client id that is another user's, or whose owner is not known here (text from before authorship
   * was recorded, or a struct another instance sent without its author), is recorded as relayed
   * by the author and never becomes theirs.
   */
  private deliver(author: Author, spans: Iterable<[number, number, number]>): AuthorshipRecord {
    const bindings: ClientBinding[] = [];
    const relayed: ClockRanges = new Map();
    for (const [client, from, to] of spans) {
      if (to <= from) continue;
      const owner = this.byClient.get(client);
      if (!owner && from === 0) {
        this.byClient.set(client, author);
        bindings.push({ clientId: client, ...author });
      } else if (owner?.userId !== author.userId) relayed.set(client, [{ clock: from, len: to - from }]);
    }
    return { bindings, ranges: rangesRecord('relayed', author, relayed) };
  }

  /** An update another instance applied and stores itself: only its bindings matter here (AUTHOR-2 on this instance). */
  learnFrom(transaction: Y.Transaction, author: Author): void {
    this.deliver(author, introduced(transaction));
  }

  /** What an applied transaction adds: the structs it introduced, and exactly the items it deleted. */
  recordTransaction(transaction: Y.Transaction, author: Author): AuthorshipRecord {
    const record = this.deliver(author, introduced(transaction));
    if (transaction.deleteSet.clients.size > 0)
      record.ranges.push({ kind: 'deleted', ...author, ranges: encodeDeleteSet(transaction.deleteSet) });
    return record;
  }

  /**
   * SCALE-3: an update of another instance's client that this instance stores in its place. Its
   * bindings are stored again (a duplicate row is harmless: the first binding wins).
   */
  recordRelayed(update: Uint8Array, author: Author): AuthorshipRecord {
    const { from, to } = Y.parseUpdateMeta(update);
    const spans: [number, number, number][] = [...to].map(([client, clock]) => [client, from.get(client) ?? 0, clock]);
    const record = this.deliver(author, spans);
    const bound = new Set(record.bindings.map((b) => b.clientId));
    for (const [client] of to)
      if (!bound.has(client) && this.byClient.get(client)?.userId === author.userId) record.bindings.push({ clientId: client, ...author });
    const { ds } = Y.decodeUpdate(update);
    if (ds.clients.size > 0) record.ranges.push({ kind: 'deleted', ...author, ranges: encodeDeleteSet(ds) });
    return record;
  }
}

/** Several records as one, ranges merged per kind and user (a flush writes one row per kind and user). */
export function mergeRecords(records: readonly AuthorshipRecord[]): AuthorshipRecord {
  return {
    bindings: records.flatMap((r) => r.bindings),
    ranges: rangesPerUser(records.flatMap((r) => r.ranges)).map((group) => group.merged),
  };
}

/** The clock span [before, after) each client's structs grew by in a transaction. */
function introduced(transaction: Y.Transaction): [number, number, number][] {
  const spans: [number, number, number][] = [];
  for (const [client, clock] of transaction.afterState) {
    const before = transaction.beforeState.get(client) ?? 0;
    if (clock > before) spans.push([client, before, clock]);
  }
  return spans;
}
