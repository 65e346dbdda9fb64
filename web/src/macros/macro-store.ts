/**
 * The user's macros on this device: a copy of the server's list in IndexedDB (usable offline) and
 * the changes made here, replayed in order under the ids this device made, so a change sent twice
 * (a lost answer, a second tab) is still one change on the server. After the replay the copy is
 * replaced by the server's list, keeping what is still waiting to be sent.
 */
import type { Macro } from '@pacs/shared';
import { liveQuery } from 'dexie';
import { ApiError, NetworkError } from '../api/client';
import type { MacroChange, WorklistDb } from '../device/db';

type Client = { request<T>(method: string, path: string, body?: unknown): Promise<T> };
export type MacroDraft = Pick<Macro, 'trigger' | 'label' | 'text'>;

export class MacroStore {
  private syncing: Promise<void> | null = null;
  /** Why the last change could not be kept (a trigger taken on another device), for the panel. */
  lastRefusal: string | null = null;

  constructor(
    private readonly db: WorklistDb,
    private readonly client: Client,
  ) {}

  /** The macros as this device knows them (server copy with local changes applied), by trigger. */
  watch(onChange: (macros: Macro[]) => void): () => void {
    const subscription = liveQuery(() => this.db.macros.orderBy('trigger').toArray()).subscribe({ next: onChange });
    return () => subscription.unsubscribe();
  }

  async save(id: string, draft: MacroDraft): Promise<void> {
    const taken = await this.db.macros.where('trigger').equals(draft.trigger).first();
    if (taken && taken.id !== id) throw new Error(`.${draft.trigger} is already one of your macros`);
    const before = await this.db.macros.get(id);
    await this.db.transaction('rw', this.db.macros, this.db.macroChanges, async () => {
      await this.db.macros.put({ id, ...draft, version: before?.version ?? 0, updatedAt: new Date().toISOString() });
      await this.db.macroChanges.add({ id, op: 'put', body: draft });
    });
    void this.sync();
  }

  async remove(id: string): Promise<void> {
    await this.db.transaction('rw', this.db.macros, this.db.macroChanges, async () => {
      await this.db.macros.delete(id);
      await this.db.macroChanges.add({ id, op: 'delete' });
    });
    void this.sync();
  }

  /** Replays the waiting changes, then refreshes the copy; offline it stops and leaves both as they are. */
  sync(): Promise<void> {
    this.syncing ??= this.replayAndRefresh().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async replayAndRefresh(): Promise<void> {
    try {
      for (;;) {
        const next = await this.db.macroChanges.orderBy('seq').first();
        if (!next) break;
        await this.send(next);
        await this.db.macroChanges.delete(next.seq!);
      }
      const { items } = await this.client.request<{ items: Macro[] }>('GET', '/api/macros');
      const waiting = new Set((await this.db.macroChanges.toArray()).map((c) => c.id));
      await this.db.transaction('rw', this.db.macros, async () => {
        const kept = (await this.db.macros.toArray()).filter((m) => waiting.has(m.id));
        await this.db.macros.clear();
        await this.db.macros.bulkPut([...items.filter((m) => !waiting.has(m.id)), ...kept]);
      });
    } catch (error) {
      // Offline, or the server failing: everything waits as it is for the next try.
      if (!(error instanceof NetworkError)) console.warn('macro sync stopped', error);
    }
  }

  /** One change to the server; refusals that no retry can fix are dropped (and said). */
  private async send(change: MacroChange): Promise<void> {
    try {
      if (change.op === 'put') await this.client.request('PUT', `/api/macros/${change.id}`, change.body);
      else await this.client.request('DELETE', `/api/macros/${change.id}`);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500 || error.status === 401) throw error;
      // 404 (gone), 409 (deleted elsewhere, trigger taken), 400: this change cannot be applied.
      if (change.op === 'put') this.lastRefusal = `.${change.body?.trigger ?? ''}: ${error.message}`;
    }
  }
}
