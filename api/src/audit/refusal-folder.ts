/**
 * Folds repeated anonymous refusals, so that a flood of unauthenticated requests cannot fill the
 * append-only audit table (nor be cleaned up afterwards). Refusals are alike when they come from
 * the same address, on the same route, with the same status, reason and subject. The first of a
 * window is written at once, as before (details.count = 1); the repeats within `windowMs` are
 * counted and written as one summary row when the window closes (details.count = repeats,
 * folded: true). Rows are only ever inserted, and the counts add up to the requests refused.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AuditEntryInput, AuditRecorder } from './recorder';

/** Open windows kept at most; past it the oldest is summarised early (still counted, never dropped). */
const MAX_OPEN_WINDOWS = 10_000;

interface Window {
  entry: AuditEntryInput;
  repeats: number;
  firstAt: Date;
  lastAt: Date;
  timer: NodeJS.Timeout;
}

export function refusalKey(entry: AuditEntryInput): string {
  const { networkAddress, eventId, action, outcome, objectType, objectId, details } = entry;
  return JSON.stringify([networkAddress, eventId, action, outcome, objectType, objectId, details]);
}

export class RefusalFolder {
  private readonly open = new Map<string, Window>();
  private readonly summaries = new Set<Promise<void>>();

  constructor(
    private readonly recorder: AuditRecorder,
    private readonly windowMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** The first refusal of a window resolves once its row is written; repeats resolve at once. */
  record(entry: AuditEntryInput): Promise<void> {
    const key = refusalKey(entry);
    const window = this.open.get(key);
    if (window) {
      window.repeats += 1;
      window.lastAt = new Date();
      return Promise.resolve();
    }
    if (this.open.size >= MAX_OPEN_WINDOWS) this.close(this.open.keys().next().value as string);
    const timer = setTimeout(() => this.close(key), this.windowMs);
    timer.unref();
    const now = new Date();
    this.open.set(key, { entry, repeats: 0, firstAt: now, lastAt: now, timer });
    return this.recorder.record({ ...entry, details: { ...entry.details, count: 1 } });
  }

  /** Writes every open window's summary now (at shutdown). */
  async flush(): Promise<void> {
    for (const key of [...this.open.keys()]) this.close(key);
    await Promise.all([...this.summaries]);
  }

  private close(key: string): void {
    const window = this.open.get(key);
    if (!window) return;
    this.open.delete(key);
    clearTimeout(window.timer);
    if (window.repeats === 0) return;
    const { entry, repeats, firstAt, lastAt } = window;
    const written = this.recorder
      .record({
        ...entry,
        requestId: null,
        at: lastAt,
        details: { ...entry.details, count: repeats, folded: true, firstAt: firstAt.toISOString(), lastAt: lastAt.toISOString() },
      })
      .catch((error: Error) =>
        this.log.error({ err: { message: error.message }, repeats }, 'audit summary of repeated refusals not written'),
      )
      .finally(() => this.summaries.delete(written));
    this.summaries.add(written);
  }
}
