/**
 * The set of loaded documents (SPEC.md DOC-*): loads on demand (deduplicated), unloads idle ones,
 * flushes every dirty document on one debounce timer (DUR-2), and attaches each document to the
 * scale-out bus when there is one (SCALE-*).
 */
import { DocumentStateError } from './document-errors';
import { type DocumentOptions, SyncDocument } from './documents';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import { AppendBatcher } from './persistence/append-batcher';
import type { DocumentBus } from './scale-out/bus';
import { DocumentReplica } from './scale-out/replica';
import type { DocumentStore } from './store';

const FLUSH_SLICE = 25;

export class DocumentManager {
  readonly docs = new Map<string, SyncDocument>();
  private readonly loading = new Map<string, Promise<SyncDocument>>();
  private readonly batcher: AppendBatcher;
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
    this.batcher = new AppendBatcher(store);
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
      this.flushInSlices(docs, 0);
    }, this.options.debounceMs);
  }

  /**
   * A few documents per turn of the event loop: merging hundreds of documents' batches in one turn
   * held every incoming update behind it (the p95 of propagation was that pause). Each slice's
   * appends still go out as one INSERT.
   */
  private flushInSlices(docs: SyncDocument[], from: number): void {
    const end = Math.min(docs.length, from + FLUSH_SLICE);
    for (let i = from; i < end; i++) if (!docs[i]!.destroyed) void docs[i]!.flush();
    if (end < docs.length) setImmediate(() => this.flushInSlices(docs, end));
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
      this.batcher,
      this.options,
      this.metrics,
      this.log,
      (d) => this.unload(d),
      (d) => this.requestFlush(d),
    );
    if (this.bus) doc.attachReplica(new DocumentReplica(doc, this.bus));
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
