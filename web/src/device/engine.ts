/**
 * Keeps the device's worklist in step with the server and delivers the user's offline changes.
 *
 * Pull: `/api/studies/changes` from the stored cursor (rows upserted, tombstones deleted, cursor
 * saved in the same transaction). The server sends only this user's part of the worklist (assigned,
 * followed, recently opened, new arrivals in their window, and priors: shared/src/device-scope.ts)
 * and a tombstone when a row leaves it; rows whose reasons lapse with time are pruned here. The feed
 * names its database's epoch: when a restore changed it, or the server is behind our cursor, it
 * answers FEED_RESET and the device starts again from a snapshot (the outbox stays and replays). Push: the outbox in order, each PATCH carrying the version the
 * user saw and an idempotency key. A 409 becomes a conflict the user resolves; a replay the server
 * had already applied (response lost on the way back) is recognised and counted as delivered.
 * Nothing is dropped without the user saying so.
 *
 * When: at start, on `online`, on becoming visible, on *Sync now*, on each change-stream nudge
 * (live.ts), and by polling every 30 s while the stream is down.
 */
import { isStudyOpen, pruneDeviceRows, type Role } from '@pacs/shared';
import { ApiError, type Client, NetworkError } from '../api/client';
import type { DeviceStudy, StudyChanges, StudyConflict, StudyPatch, StudyTombstone, WorklistStudy } from '../api/types';
import { getMeta, type OutboxEntry, setMeta, type WorklistDb } from './db';
import { LiveStream } from './live';
import type { SealedRecord } from './vault/sealed-table';

export interface SyncStatus {
  /** The browser says it has a network and the last request reached the API. */
  online: boolean;
  syncing: boolean;
  lastSyncedAt: string | null;
  lastError: string | null;
  /** Set when the device refused to store more (QuotaExceededError). */
  storageError: string | null;
  /** The change stream is open: changes arrive within a second or so instead of at the next poll. */
  live: boolean;
  /** Pulls started by a change-stream nudge (diagnostics and the e2e test). */
  nudges: number;
}

export interface StatArrival {
  id: string;
  patientName: string;
  description: string;
  at: number;
}

export interface EngineOptions {
  /** Poll interval while the change stream is down (and the page visible); 0 = never. */
  pollMs?: number;
  /** Open the change stream when the client can stream (default true). */
  live?: boolean;
  /** Page size of the delta feed. */
  pageSize?: number;
  /** How often rows whose reasons lapsed with time are dropped (they are all opened to check). */
  pruneEveryMs?: number;
  now?: () => Date;
  newKey?: () => string;
}

export function isQuotaError(error: unknown): boolean {
  let e = error as { name?: string; inner?: unknown } | null | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    if (e.name === 'QuotaExceededError') return true;
    e = e.inner as typeof e;
  }
  return false;
}

/** The server already shows what the entry asked for (so a replay needs nothing more). */
export function satisfies(row: WorklistStudy, patch: OutboxEntry['patch']): boolean {
  if (patch.priority !== undefined && row.priority !== patch.priority) return false;
  if (patch.status !== undefined && row.status !== patch.status) return false;
  if (patch.assigneeId !== undefined && (row.assignee?.id ?? null) !== patch.assigneeId) return false;
  return true;
}

/** How soon changes still waiting in the outbox are retried. */
const RETRY_MS = 5000;

export class SyncEngine {
  private status: SyncStatus;
  private readonly listeners = new Set<() => void>();
  private readonly arrivalListeners = new Set<(arrivals: StatArrival[]) => void>();
  private running: Promise<void> | null = null;
  private again = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly cleanups: (() => void)[] = [];
  private readonly pollMs: number;
  private readonly pageSize: number;
  private readonly now: () => Date;
  private readonly newKey: () => string;
  private readonly liveStream: LiveStream | null;
  private lastCycleAt = 0;
  private lastPrunedAt = 0;
  private readonly pruneEveryMs: number;

  constructor(
    readonly db: WorklistDb,
    readonly user: { id: string; name: string; role?: Role },
    private readonly client: Pick<Client, 'request'> & Partial<Pick<Client, 'stream'>>,
    options: EngineOptions = {},
  ) {
    // With the stream up, polling is only the safety net for a stream that died silently.
    this.pollMs = options.pollMs ?? 30_000;
    const stream = client.stream?.bind(client);
    this.liveStream =
      options.live !== false && stream
        ? new LiveStream(
            { stream },
            {
              onSequence: (sequence) => void this.nudged(sequence),
              onConnected: (live) => {
                this.set({ live });
                // (Re)connected: catch up on anything missed and deliver what waits in the outbox.
                if (live) void this.syncNow();
              },
            },
          )
        : null;
    this.pageSize = options.pageSize ?? 1000;
    this.pruneEveryMs = options.pruneEveryMs ?? 10 * 60_000;
    this.now = options.now ?? (() => new Date());
    this.newKey = options.newKey ?? (() => crypto.randomUUID());
    this.status = {
      online: typeof navigator === 'undefined' ? true : navigator.onLine,
      syncing: false,
      lastSyncedAt: null,
      lastError: null,
      storageError: null,
      live: false,
      nudges: 0,
    };
  }

  // ------------------------------------------------------------------ status (React reads it through useSyncExternalStore)

  getStatus = (): SyncStatus => this.status;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  onStatArrival(listener: (arrivals: StatArrival[]) => void): () => void {
    this.arrivalListeners.add(listener);
    return () => this.arrivalListeners.delete(listener);
  }

  private set(patch: Partial<SyncStatus>): void {
    this.status = { ...this.status, ...patch };
    for (const listener of this.listeners) listener();
  }

  // ------------------------------------------------------------------ lifecycle

  /** Loads the stored state, syncs once and then on `online`, on becoming visible and by polling. */
  async start(): Promise<void> {
    this.set({ lastSyncedAt: (await getMeta<string>(this.db, 'lastSyncedAt')) ?? null });
    if (typeof window !== 'undefined') {
      const onOnline = () => {
        this.set({ online: true });
        this.liveStream?.retryNow();
        void this.syncNow();
      };
      const onOffline = () => this.set({ online: false });
      const onVisible = () => {
        if (document.visibilityState !== 'visible') return;
        this.liveStream?.retryNow();
        void this.syncNow();
      };
      window.addEventListener('online', onOnline);
      window.addEventListener('offline', onOffline);
      document.addEventListener('visibilitychange', onVisible);
      this.cleanups.push(
        () => window.removeEventListener('online', onOnline),
        () => window.removeEventListener('offline', onOffline),
        () => document.removeEventListener('visibilitychange', onVisible),
      );
      if (this.pollMs > 0) {
        // Checked every few seconds: changes still waiting in the outbox are retried soon (a
        // delivery can fail after the network came back); the delta feed is polled every pollMs,
        // and only while the change stream is down.
        this.timer = setInterval(
          () => {
            if (document.visibilityState !== 'visible' || !navigator.onLine || this.running) return;
            const pollDue = !this.status.live && Date.now() - this.lastCycleAt >= this.pollMs;
            void this.db.outbox
              .where('state')
              .equals('pending')
              .count()
              .then((pending) => {
                if (pending > 0 || pollDue) void this.syncNow();
              })
              .catch(() => undefined);
          },
          Math.min(this.pollMs, RETRY_MS),
        );
      }
      this.liveStream?.start();
    }
    void this.syncNow();
  }

  /** A change-stream event: pull if the server is ahead of what this device has. */
  private async nudged(sequence: number): Promise<void> {
    const cursor = Number((await getMeta<string>(this.db, 'cursor').catch(() => undefined)) ?? '0');
    if (sequence <= cursor) return;
    this.set({ nudges: this.status.nudges + 1 });
    await this.syncNow();
  }

  stop(): void {
    this.liveStream?.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.listeners.clear();
    this.arrivalListeners.clear();
  }

  /**
   * Push the outbox, then pull the delta feed. Calls while one runs are folded into one more run,
   * also when the running one ended offline: the later call may come from the network returning.
   */
  syncNow(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.cycle();
      } while (this.again);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async cycle(): Promise<void> {
    this.lastCycleAt = Date.now();
    if (typeof navigator !== 'undefined' && !navigator.onLine) {
      this.set({ online: false });
      return;
    }
    this.set({ syncing: true });
    try {
      await this.push();
      await this.pull();
      const at = this.now().toISOString();
      await this.guardStorage(() => setMeta(this.db, 'lastSyncedAt', at));
      this.set({ online: true, lastSyncedAt: at, lastError: null });
    } catch (error) {
      if (error instanceof NetworkError) this.set({ online: false, lastError: null });
      else if (isQuotaError(error)) this.set({ storageError: 'This device is out of storage for the worklist.' });
      else this.set({ lastError: (error as Error).message });
    } finally {
      this.set({ syncing: false });
    }
  }

  private async guardStorage<T>(write: () => Promise<T>): Promise<T> {
    try {
      const result = await write();
      if (this.status.storageError) this.set({ storageError: null });
      return result;
    } catch (error) {
      if (isQuotaError(error)) {
        this.set({ storageError: 'This device is out of storage: new data cannot be saved offline. Free space or sync and log out.' });
      }
      throw error;
    }
  }

  // ------------------------------------------------------------------ pull

  async pull(): Promise<number> {
    let applied = 0;
    let removed = false;
    for (;;) {
      const cursor = (await getMeta<string>(this.db, 'cursor')) ?? '0';
      const epoch = await getMeta<string>(this.db, 'epoch');
      let page: StudyChanges;
      try {
        page = await this.client.request<StudyChanges>(
          'GET',
          `/api/studies/changes?cursor=${encodeURIComponent(cursor)}${epoch ? `&epoch=${encodeURIComponent(epoch)}` : ''}&limit=${this.pageSize}`,
        );
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'FEED_RESET')) throw error;
        await this.startOver(String(error.body.epoch ?? ''));
        continue;
      }
      const arrivals: StatArrival[] = [];
      // Sealing and opening are asynchronous (WebCrypto) and would end an IndexedDB transaction:
      // done before it. Only this engine writes rows, one cycle at a time.
      const ids = page.changes.map((c) => c.id);
      // A restricted patient's row comes masked once this user's emergency access ends: the
      // device keeps nothing of theirs (cached details, offline images) beyond the masked row.
      const masked = page.changes.filter((c): c is WorklistStudy => !('deleted' in c) && c.access === 'masked').map((c) => c.id);
      const existing = new Map((await this.db.sealed.studies.bulkGet(ids)).filter((r) => r).map((r) => [r!.id, r!]));
      const rows: WorklistStudy[] = [];
      const deletes: string[] = [];
      for (const change of page.changes) {
        if ('deleted' in change) {
          deletes.push(change.id);
          continue;
        }
        const before = existing.get(change.id);
        if (cursor !== '0' && change.priority === 'stat' && before?.priority !== 'stat' && isStudyOpen(change.status)) {
          arrivals.push({ id: change.id, patientName: change.patientName, description: change.description, at: Date.now() });
        }
        rows.push(change);
      }
      const puts = await this.db.sealed.studies.sealAll(rows);
      await this.guardStorage(() =>
        this.db.transaction(
          'rw',
          [this.db.studies, this.db.details, this.db.meta, this.db.offlineStudies, this.db.offlineFrames],
          async () => {
            if (puts.length) await this.db.studies.bulkPut(puts);
            if (deletes.length) {
              await this.db.studies.bulkDelete(deletes);
              await this.db.details.bulkDelete(deletes);
            }
            if (masked.length) {
              await this.db.details.bulkDelete(masked);
              await this.db.offlineFrames.where('studyId').anyOf(masked).delete();
              await this.db.offlineStudies.bulkDelete(masked);
            }
            await setMeta(this.db, 'cursor', page.cursor);
            await setMeta(this.db, 'epoch', page.epoch);
          },
        ),
      );
      applied += page.changes.length;
      if (arrivals.length) for (const listener of this.arrivalListeners) listener(arrivals);
      if (deletes.length) removed = true;
      if (!page.hasMore) {
        // A row that left may have been the only reason its priors were here: they go now, not at the next timed prune.
        await this.pruneIfDue(removed);
        return applied;
      }
    }
  }

  /**
   * The database was restored (another epoch) or is behind this device: what the device holds may
   * name rows that no longer exist or miss changes made since. Its rows go and come again from a
   * snapshot; the outbox stays, each change replaying against the version it was made on (a
   * conflict is shown where the restored row differs).
   */
  private async startOver(epoch: string): Promise<void> {
    await this.db.transaction('rw', this.db.studies, this.db.details, this.db.meta, async () => {
      await this.db.studies.clear();
      await this.db.details.clear();
      await setMeta(this.db, 'cursor', '0');
      await setMeta(this.db, 'epoch', epoch);
    });
  }

  /** Drops rows whose reasons to be on the device lapsed with time (a window passed, a prior's study left). */
  private async pruneIfDue(now = false): Promise<void> {
    const role = this.user.role;
    if (!role || (!now && Date.now() - this.lastPrunedAt < this.pruneEveryMs)) return;
    this.lastPrunedAt = Date.now();
    const rows = await this.db.sealed.studies.toArray();
    const { drop } = pruneDeviceRows(rows, role, this.now().getTime());
    if (drop.length === 0) return;
    await this.db.transaction('rw', this.db.studies, this.db.details, async () => {
      await this.db.studies.bulkDelete(drop);
      await this.db.details.bulkDelete(drop);
    });
  }

  // ------------------------------------------------------------------ outbox

  /** Records a change the user made; it shows as pending until the server accepts it. */
  async enqueue(studyId: string, patch: OutboxEntry['patch'], label: string): Promise<OutboxEntry> {
    const row = await this.db.sealed.studies.get(studyId);
    if (!row) throw new Error('study is not on this device');
    const entry: OutboxEntry = {
      key: this.newKey(),
      studyId,
      patch,
      baseVersion: row.version,
      label,
      createdAt: this.now().toISOString(),
      state: 'pending',
      attempts: 0,
    };
    // Changes on top of the user's own still-pending change keep its base version: they were
    // made on what the user saw, and are rebased when the earlier one is accepted.
    entry.seq = await this.guardStorage(() => this.db.outbox.add(entry));
    void this.syncNow();
    return entry;
  }

  /** Sends pending entries in order. One tab at a time (Web Lock) so two tabs never send the same entry. */
  async push(): Promise<void> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (!locks) return this.pushLocked();
    await locks.request(`pacs-outbox-${this.user.id}`, { ifAvailable: true }, async (lock) => {
      if (lock) await this.pushLocked();
    });
  }

  private async pushLocked(): Promise<void> {
    const entries = await this.db.outbox.orderBy('seq').toArray();
    for (const candidate of entries) {
      // Re-read: an earlier delivery may have rebased this entry.
      const entry = await this.db.outbox.get(candidate.seq!);
      if (!entry || (entry.state !== 'pending' && entry.state !== 'sending')) continue;
      await this.deliver(entry);
    }
  }

  private async deliver(entry: OutboxEntry): Promise<void> {
    const seq = entry.seq!;
    await this.db.outbox.update(seq, { state: 'sending', attempts: entry.attempts + 1 });
    let row: WorklistStudy;
    try {
      const body: StudyPatch = { ...entry.patch, version: entry.baseVersion };
      row = await this.client.request<WorklistStudy>('PATCH', `/api/studies/${entry.studyId}`, body, { 'idempotency-key': entry.key });
    } catch (error) {
      if (error instanceof ApiError && error.status === 409 && error.body.current) {
        const current = (error.body as unknown as StudyConflict).current;
        if (satisfies(current, entry.patch)) {
          // Our earlier attempt did reach the server (its answer was lost): delivered.
          await this.accepted(entry, current);
          return;
        }
        const sealed = await this.db.sealed.studies.seal(await this.withReasons(current));
        await this.db.transaction('rw', this.db.outbox, this.db.studies, async () => {
          await this.db.outbox.update(seq, { state: 'conflict', error: error.message });
          await this.putIfNewer(sealed);
        });
        return;
      }
      if (error instanceof ApiError && error.status !== 401) {
        await this.db.outbox.update(seq, { state: 'failed', error: `${error.message}${error.code ? ` (${error.code})` : ''}` });
        return;
      }
      await this.db.outbox.update(seq, { state: 'pending' });
      throw error;
    }
    await this.accepted(entry, row);
  }

  /** The PATCH answers the plain row: it keeps the reasons the feed gave for holding it (the feed's next page brings the new ones). */
  private async withReasons(row: WorklistStudy): Promise<DeviceStudy> {
    const held = (await this.db.sealed.studies.get(row.id)) as DeviceStudy | null;
    return held ? { ...row, scope: held.scope, priorOf: held.priorOf, openedAt: held.openedAt } : row;
  }

  /**
   * A row the server answered outside the feed (a follow, a study opened from a search): stored
   * unless the device holds a newer version, after any cycle under way (which may write the same row).
   */
  async store(answer: DeviceStudy | StudyTombstone): Promise<void> {
    await this.running?.catch(() => undefined);
    if ('deleted' in answer) {
      await this.db.transaction('rw', this.db.studies, this.db.details, async () => {
        await this.db.studies.delete(answer.id);
        await this.db.details.delete(answer.id);
      });
      return;
    }
    const sealed = await this.db.sealed.studies.seal(answer);
    await this.guardStorage(() => this.db.transaction('rw', this.db.studies, () => this.putIfNewer(sealed)));
  }

  private async accepted(entry: OutboxEntry, row: WorklistStudy): Promise<void> {
    const sealed = await this.db.sealed.studies.seal(await this.withReasons(row));
    await this.db.transaction('rw', this.db.outbox, this.db.studies, async () => {
      await this.db.outbox.delete(entry.seq!);
      await this.putIfNewer(sealed);
      // Later changes the user made on top of this one now stand on the version it produced.
      const later = await this.db.outbox.where('studyId').equals(entry.studyId).toArray();
      for (const next of later) {
        if (next.seq! > entry.seq! && next.baseVersion === entry.baseVersion && next.state === 'pending') {
          await this.db.outbox.update(next.seq!, { baseVersion: row.version });
        }
      }
    });
  }

  /** Inside a transaction: the sealed row replaces the stored one unless that is newer (versions are plain). */
  private async putIfNewer(sealed: SealedRecord): Promise<void> {
    const existing = await this.db.studies.get(sealed.id as string);
    if (!existing || (existing.version as number) <= (sealed.version as number)) await this.db.studies.put(sealed);
  }

  /** The user's answer to a conflict: apply their change on top of the server's row, or give it up. */
  async resolveConflict(seq: number, choice: 'apply-mine' | 'discard'): Promise<void> {
    const entry = await this.db.outbox.get(seq);
    if (!entry) return;
    if (choice === 'discard') {
      await this.db.outbox.delete(seq);
      return;
    }
    // The stored row is the server's at the conflict, or newer.
    const server = await this.db.sealed.studies.get(entry.studyId);
    await this.db.outbox.update(seq, {
      state: 'pending',
      baseVersion: server?.version ?? entry.baseVersion,
      error: undefined,
    });
    void this.syncNow();
  }

  async dismissFailed(seq: number): Promise<void> {
    await this.db.outbox.delete(seq);
  }
}
