/**
 * The worklist as React reads it: Dexie live queries over the rows and the outbox, kept open for
 * the whole session so a route change renders from memory at once. Rows are shown with the
 * user's pending changes applied (see `overlay`). Rows are stored sealed: each is opened once and
 * kept in memory until its record changes (a new seal has a new IV).
 */
import { liveQuery, type Subscription } from 'dexie';
import type { WorklistStudy } from '../api/types';
import { type OutboxEntry, overlay, type WorklistDb } from './db';
import { sameSealing } from './vault/sealed';
import type { SealedRecord } from './vault/sealed-table';

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
  private opened = new Map<string, { iv: Uint8Array; row: WorklistStudy }>();
  private generation = 0;
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
        next: (records) => void this.openRows(records),
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

  /** Opens the records not opened before; a newer emission supersedes one still opening. */
  private async openRows(records: SealedRecord[]): Promise<void> {
    const generation = ++this.generation;
    const next = new Map<string, { iv: Uint8Array; row: WorklistStudy }>();
    const waiting: SealedRecord[] = [];
    for (const record of records) {
      const known = this.opened.get(record.id as string);
      if (known && sameSealing(known, record)) next.set(record.id as string, known);
      else waiting.push(record);
    }
    const fresh = await Promise.all(waiting.map((record) => this.db.sealed.studies.open(record)));
    if (generation !== this.generation) return;
    waiting.forEach((record, i) => {
      const row = fresh[i];
      if (row) next.set(record.id as string, { iv: record.iv, row });
    });
    this.opened = next;
    this.serverRows = records.flatMap((record) => next.get(record.id as string)?.row ?? []);
    this.rowsLoaded = true;
    this.rebuild();
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
