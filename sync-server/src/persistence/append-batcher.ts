import type { AuthorshipRecord } from '../authorship/client-authors';
import type { AppendEntry, DocumentStore } from '../store';

/**
 * Coalesces the appends of every document flushed in the same tick into one multi-row INSERT
 * (DUR-2): with hundreds of active documents this is one statement per debounce window instead of
 * one per document. A failed batch fails every append in it; each document retries on its own.
 */
export class AppendBatcher {
  private queue: { entry: AppendEntry; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  constructor(private readonly store: DocumentStore) {}

  append(document: string, update: Uint8Array | null, authorship?: AuthorshipRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry: { document, update, authorship }, resolve, reject });
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
