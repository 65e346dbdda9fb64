/**
 * The worklist as React reads it: Dexie live queries over the rows and the outbox, kept open for
 * the whole session so a route change renders from memory at once. Rows are shown with the
 * user's pending changes applied (see `overlay`).
 */
import { liveQuery, type Subscription } from 'dexie';
import type { WorklistStudy } from '../api/types';
import { type OutboxEntry, overlay, type WorklistDb } from './db';

export interface WorklistSnapshot {
  loaded: boolean;
  rows: WorklistStudy[];
  byId: Map<string, WorklistStudy>;
  outbox: OutboxEntry[];
  pendingByStudy: Map<string, OutboxEntry[]>;
  /** STAT arrivals not yet acknowledged. */
  highlighted: ReadonlySet<string>;
}

export class WorklistView {
  private serverRows: WorklistStudy[] = [];
  private outbox: OutboxEntry[] = [];
  private rowsLoaded = false;
  private highlighted = new Set<string>();
  private snapshot: WorklistSnapshot = {
    loaded: false,
    rows: [],
    byId: new Map(),
    outbox: [],
    pendingByStudy: new Map(),
    highlighted: this.highlighted,
  };
  private readonly listeners = new Set<() => void>();
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly db: WorklistDb,
    private readonly me: { id: string; name: string },
  ) {}

  start(): void {
    this.subscriptions.push(
      liveQuery(() => this.db.studies.toArray()).subscribe({
        next: (rows) => {
          this.serverRows = rows;
          this.rowsLoaded = true;
          this.rebuild();
        },
        error: () => {
          this.rowsLoaded = true;
          this.rebuild();
        },
      }),
      liveQuery(() => this.db.outbox.orderBy('seq').toArray()).subscribe({
        next: (entries) => {
          this.outbox = entries;
          this.rebuild();
        },
      }),
    );
  }

  stop(): void {
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
    this.listeners.clear();
  }

  highlight(ids: string[]): void {
    this.highlighted = new Set([...this.highlighted, ...ids]);
    this.rebuild();
  }

  acknowledge(id?: string): void {
    if (id) {
      this.highlighted = new Set(this.highlighted);
      this.highlighted.delete(id);
    } else this.highlighted = new Set();
    this.rebuild();
  }

  get = (): WorklistSnapshot => this.snapshot;
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private rebuild(): void {
    const pendingByStudy = new Map<string, OutboxEntry[]>();
    for (const entry of this.outbox) {
      const list = pendingByStudy.get(entry.studyId);
      if (list) list.push(entry);
      else pendingByStudy.set(entry.studyId, [entry]);
    }
    const rows =
      pendingByStudy.size === 0
        ? this.serverRows
        : this.serverRows.map((row) => {
            const pending = pendingByStudy.get(row.id);
            return pending ? overlay(row, pending, this.me) : row;
          });
    this.snapshot = {
      loaded: this.rowsLoaded,
      rows,
      byId: new Map(rows.map((r) => [r.id, r])),
      outbox: this.outbox,
      pendingByStudy,
      highlighted: this.highlighted,
    };
    for (const listener of this.listeners) listener();
  }
}
