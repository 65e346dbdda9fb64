/**
 * What one document still has to store, and the storing (SPEC.md DUR-*): the queue of updates not
 * yet appended, late edits not yet written, the retry timer and the length of the update log.
 *
 * Every store operation of a document runs on one promise chain (`serial`), so appends,
 * compactions, lock writes and late-edit writes of a document never interleave. A failed write
 * keeps its data in memory and is retried with back-off (DUR-4).
 */
import * as Y from 'yjs';
import { type AuthorshipRecord, mergeRecords } from '../authorship/client-authors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { DocumentStore, LateEditRecord } from '../store';
import type { AppendBatcher } from './append-batcher';

const MAX_RETRY_DELAY_MS = 30_000;

/** What the writer asks of its document. */
export interface WriterHooks {
  /** The whole document as one update (compaction, DUR-5). */
  state(): Uint8Array;
  /** Asks for a flush within the debounce window (one timer for all documents, DUR-2). */
  requestFlush(): void;
  /** A mark taken when a batch is cut: every update handed over before it is in that batch or stored. */
  checkpoint(): number;
  /** Everything handed over up to `checkpoint` is stored. */
  stored(checkpoint: number): void;
  /** A retry scheduled after a failure has stored everything. */
  recovered(): void;
}

interface PendingLateEdit {
  edit: Omit<LateEditRecord, 'id'>;
  /** Tells the sender its late edit is kept. */
  onStored?: () => void;
}

export class DocumentWriter {
  /** Rows in the update log not yet folded into the snapshot. */
  logLength = 0;
  private pending: Uint8Array[] = [];
  /** Who wrote the pending updates (AUTHOR-5): stored in the same write as them. */
  private pendingAuthorship: AuthorshipRecord[] = [];
  private pendingLate: PendingLateEdit[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private writing = 0;
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly store: DocumentStore,
    private readonly batcher: AppendBatcher,
    private readonly compactAfterUpdates: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly hooks: WriterHooks,
  ) {}

  get unstoredCount(): number {
    return this.pending.length + this.pendingLate.length;
  }

  /** Nothing waits to be written, nothing is being written, no retry is due. */
  get settled(): boolean {
    return (
      this.pending.length === 0 &&
      this.pendingAuthorship.length === 0 &&
      this.pendingLate.length === 0 &&
      this.writing === 0 &&
      this.retryTimer === null
    );
  }

  /** Queues an update for the next flush (DUR-2). */
  add(update: Uint8Array): void {
    this.pending.push(update);
    this.metrics.counts.unpersistedUpdates++;
    this.schedule();
  }

  /** Queues authorship for the next flush, stored with the updates queued so far (AUTHOR-5). */
  addAuthorship(record: AuthorshipRecord): void {
    if (record.bindings.length === 0 && record.ranges.length === 0) return;
    this.pendingAuthorship.push(record);
    this.schedule();
  }

  /** Queues a late edit (LOCK-5); `onStored` runs once it is written. */
  addLateEdit(edit: Omit<LateEditRecord, 'id'>, onStored?: () => void): void {
    this.pendingLate.push({ edit, onStored });
    this.metrics.counts.unpersistedUpdates++;
    this.schedule();
  }

  private schedule(): void {
    if (this.retryTimer || this.closed) return;
    this.hooks.requestFlush();
  }

  /** Runs a store operation on the document's chain, timed and counted under `op`. */
  run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return this.serial(() => this.timed(op, fn));
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
        const checkpoint = this.hooks.checkpoint();
        if (this.pending.length > 0 || this.pendingAuthorship.length > 0) {
          const batch = this.pending;
          const authorship = this.pendingAuthorship;
          this.pending = [];
          this.pendingAuthorship = [];
          const merged = batch.length === 0 ? null : batch.length === 1 ? batch[0]! : Y.mergeUpdates(batch);
          try {
            const record = authorship.length > 0 ? mergeRecords(authorship) : undefined;
            await this.timed('append', () => this.batcher.append(this.name, merged, record));
            if (merged) this.logLength++;
            this.metrics.counts.unpersistedUpdates -= batch.length;
          } catch (err) {
            // Never drop: put the batch back (as one merged update) in front of newer ones.
            if (merged) this.pending.unshift(merged);
            this.pendingAuthorship.unshift(...authorship);
            this.metrics.counts.unpersistedUpdates -= Math.max(0, batch.length - 1);
            throw err;
          }
        }
        this.failures = 0;
        this.hooks.stored(checkpoint);
        if (this.logLength >= this.compactAfterUpdates) await this.compactNow();
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
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.flush().then((ok) => {
        if (ok) this.hooks.recovered();
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
      await this.timed('compact', () => this.store.compact(this.name, this.hooks.state()));
      this.logLength = 0;
    } catch (err) {
      this.log.error('compaction failed; the update log still holds the data', { doc: this.name, err });
    }
  }

  /** Compacts if the log has more than one row (before unloading). */
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
      this.metrics.counts.unpersistedUpdates--;
      this.metrics.lateEdits.inc();
      this.log.info('late edit stored', { doc: this.name, user: item.edit.userId, bytes: item.edit.data.byteLength });
      item.onStored?.();
    }
  }

  /** Stops retrying; what is still unstored leaves the gauge (the document is going away). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.metrics.counts.unpersistedUpdates -= this.unstoredCount;
  }
}
