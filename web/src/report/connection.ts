/**
 * One report document on this device: the Yjs doc, its sealed IndexedDB copy (sealed-doc-store.ts), the stock
 * y-websocket provider with a renewed document token, and an honest account of what the server
 * holds.
 *
 * "Changes not yet on the server". The y-websocket protocol has no acknowledgements, so we derive
 * them from what the server demonstrably has:
 *  - its sync step 1 (its state vector when a connection opens) replaces what we knew;
 *  - every update it sends us raises the clocks it covers;
 *  - our own edits: the server relays awareness to every connection, the sender included, and
 *    handles one connection's frames in order. When it echoes our awareness clock c, it has applied
 *    every update we sent before the awareness message with clock c. So each local awareness message
 *    sent after the handshake records the local state vector at that moment, and its echo confirms
 *    that state. A rw connection to an unlocked document only; refused updates (read-only, late
 *    edits after the lock) are never confirmed.
 * Pending = Yjs items (characters, blocks) the local state vector holds beyond the confirmed one,
 * plus local deletions not yet confirmed (deletions add no clock). Both survive a reload (stored
 * beside the document in IndexedDB), so a reopened offline report still shows its debt.
 */
import { CLOSE_CODES, MESSAGE_TYPE_NOTICE, RETRYABLE_CLOSE_CODES, type Role, type SyncNotice } from '@pacs/shared';
import { Awareness } from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { DB_PREFIX } from '../device/db';
import type { ReportSession } from './report-api';
import { SealedDocStore } from './sealed-doc-store';
import {
  awarenessClockOf,
  type Cursor,
  fromBase64,
  itemsAhead,
  mergeInto,
  readVarBytes,
  readVarString,
  readVarUint,
  type StateVector,
  toBase64,
} from './yjs-util';

export type LinkState = 'offline' | 'connecting' | 'syncing' | 'live';

/** One user in the report right now, as the awareness states list them (this device's own entry has `self`). */
export interface PresenceUser {
  clientId: number;
  name: string;
  role: string;
  color: string;
  self: boolean;
}

export interface ConnectionSnapshot {
  /** The IndexedDB copy has been read into the document. */
  loaded: boolean;
  link: LinkState;
  /** null: this device has never compared the document with the server. */
  pending: number | null;
  lastSavedAt: number | null;
  mode: 'rw' | 'ro' | null;
  lockedAt: string | null;
  /** Bumped on every `late-edit-stored` notice. */
  lateEditsStored: number;
  problem: string | null;
  /** Why the server stopped applying this connection's edits while it was open; null while writable. */
  readOnlyReason: string | null;
  /** Who is in the report now: this device's user first, then by name. */
  presence: PresenceUser[];
  /** Every local change so far is committed in IndexedDB (a reload or crash now loses nothing). */
  onDevice: boolean;
}

/** What this device announces in its awareness state (`user`): the name, role and caret colour others see. */
export interface AwarenessUser {
  name: string;
  role: Role;
  color: string;
}

export interface ConnectionOptions {
  reportId: string;
  userId: string;
  user: AwarenessUser;
  openSession: (reportId: string) => Promise<ReportSession>;
  /** The vault's data key: the device copy is sealed under it. */
  dataKey: CryptoKey;
  /** ws(s)://host/sync; defaults to this origin. */
  syncUrl?: string;
  onNotice?: (notice: SyncNotice) => void;
  /** The server withdrew this user's access (4410): the sign-in itself must be checked again. */
  onAccessRevoked?: () => void;
  /** A background copy (report downloads): the user is not shown as present in the report. */
  quiet?: boolean;
}

export const READ_ONLY_REASON = 'Read-only: submitted for review or taken over by an attending';
export const ACCESS_REVOKED_PROBLEM = 'Your access to this report was withdrawn — sign in again.';

interface Mark {
  clock: number;
  sv: StateVector;
  deletes: number;
}

/** The device's copy of a report lives in the user's worklist namespace, so logout wipes it too. */
export function reportDbName(userId: string, reportId: string): string {
  return `${DB_PREFIX}${userId}.report.${reportId}`;
}

export function defaultSyncUrl(): string {
  return `${window.location.origin.replace(/^http/, 'ws')}/sync`;
}

/** What the device copy keeps beside the document (a report started offline writes its mode). */
export const DEVICE_COPY_META = {
  serverSV: 'pacs:serverSV',
  deletes: 'pacs:unconfirmedDeletes',
  savedAt: 'pacs:lastSavedAt',
  mode: 'pacs:mode',
};
const META = DEVICE_COPY_META;
const RENEW_BEFORE_MS = 60_000;
/** The device copy keeps one row per update (one per keystroke); opening replays them all, so merge them from time to time. */
const COMPACT_AFTER_ROWS = 64;

export class ReportConnection {
  readonly doc = new Y.Doc();
  readonly awareness = new Awareness(this.doc);
  readonly persistence: SealedDocStore;
  provider: WebsocketProvider | null = null;
  private snapshot: ConnectionSnapshot = {
    loaded: false,
    link: 'offline',
    pending: null,
    lastSavedAt: null,
    mode: null,
    lockedAt: null,
    lateEditsStored: 0,
    problem: null,
    readOnlyReason: null,
    presence: [],
    onDevice: true,
  };
  private readonly listeners = new Set<() => void>();
  private serverSV: StateVector | null = null;
  private deletes = 0;
  private confirmedDeletes = 0;
  private marks: Mark[] = [];
  private serverStep1Seen = false;
  private markTimer: ReturnType<typeof setTimeout> | null = null;
  private persistTimer: ReturnType<typeof setTimeout> | null = null;
  private renewTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private sessionExpiresAt = 0;
  private authFailures = 0;
  private destroyed = false;
  /** After 4410 no token is asked for again: only a new sign-in can restore access. */
  private revoked = false;
  private deviceCheck = 0;
  readonly whenLoaded: Promise<void>;

  constructor(private readonly options: ConnectionOptions) {
    performance.mark('pacs-report:connection');
    this.persistence = new SealedDocStore(reportDbName(options.userId, options.reportId), this.doc, options.dataKey, options.reportId);
    this.whenLoaded = this.persistence.whenLoaded.then(async () => {
      performance.mark('pacs-report:idb-synced');
      const [sv, deletes, savedAt, mode] = await Promise.all([
        this.persistence.get(META.serverSV),
        this.persistence.get(META.deletes),
        this.persistence.get(META.savedAt),
        this.persistence.get(META.mode),
      ]);
      if (typeof sv === 'string' && !this.serverSV) this.serverSV = Y.decodeStateVector(fromBase64(sv));
      if (typeof deletes === 'number') this.deletes += deletes;
      const patch: Partial<ConnectionSnapshot> = { loaded: true };
      if (typeof savedAt === 'number') patch.lastSavedAt = savedAt;
      if ((mode === 'rw' || mode === 'ro') && !this.snapshot.mode) patch.mode = mode;
      this.update(patch);
      this.refreshPending();
      performance.mark('pacs-report:loaded');
      this.compactSoon();
    });
    if (!options.quiet) this.awareness.setLocalStateField('user', options.user);
    this.doc.on('afterTransaction', this.onTransaction);
    this.doc.on('update', this.onUpdate);
    this.awareness.on('update', this.onAwarenessUpdate);
    this.awareness.on('change', this.onPresence);
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    // A tablet may kill a hidden tab without another event: what waits for its debounce goes now.
    window.addEventListener('pagehide', this.flushNow);
    document.addEventListener('visibilitychange', this.onVisibility);
    this.onPresence();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get = (): ConnectionSnapshot => this.snapshot;

  /** Fetches a document token and connects; retries by itself while offline. */
  async start(): Promise<void> {
    // The token does not depend on the device copy: ask for it while IndexedDB opens (both take
    // 100–300 ms on a busy tablet), and connect once both are there.
    const session = this.options.openSession(this.options.reportId);
    session.catch(() => undefined); // handled in renew(); silenced if destroyed before that
    await this.whenLoaded;
    await this.renew(session);
  }

  /** A new document token now (e.g. after a status change that changes the mode). */
  refreshSession(): Promise<void> {
    return this.renew();
  }

  /** Whether the server has confirmed everything this device holds (and we are connected). */
  get settled(): boolean {
    return this.snapshot.link === 'live' && this.snapshot.pending === 0;
  }

  /** Writes what the server is known to hold and everything received, then closes (the end of a background copy). */
  async close(): Promise<void> {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = null;
    await this.persistMeta();
    await this.persistence.flushed();
    this.destroy();
  }

  destroy(): void {
    this.destroyed = true;
    for (const timer of [this.markTimer, this.renewTimer, this.retryTimer]) if (timer) clearTimeout(timer);
    if (this.persistTimer) {
      clearTimeout(this.persistTimer);
      void this.persistMeta();
    }
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('pagehide', this.flushNow);
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.awareness.setLocalState(null);
    this.provider?.destroy();
    this.awareness.destroy();
    this.persistence.destroy();
    this.doc.destroy();
    this.listeners.clear();
  }

  // ------------------------------------------------------------------ token and provider

  private async renew(requested?: Promise<ReportSession>): Promise<void> {
    if (this.destroyed || this.revoked) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    let session: ReportSession;
    try {
      session = await (requested ?? this.options.openSession(this.options.reportId));
    } catch {
      if (this.destroyed) return;
      // Offline or the API is away: the document stays editable on the device; try again later.
      this.retryTimer = setTimeout(() => void this.renew(), navigator.onLine ? 5_000 : 30_000);
      return;
    }
    if (this.destroyed || this.revoked) return;
    this.sessionExpiresAt = Date.parse(session.expiresAt);
    void this.persistence.set(META.mode, session.mode).catch(() => undefined);
    // A writable token means the report is the user's to edit again (e.g. returned for changes).
    this.update({ mode: session.mode, problem: null, ...(session.mode === 'rw' ? { readOnlyReason: null } : {}) });
    if (this.provider) {
      // The stock provider reads `params` at each (re)connection: no reload, no reconnect now.
      this.provider.params = { token: session.token };
      if (!this.provider.shouldConnect) this.provider.connect();
    } else {
      this.createProvider(session.token);
    }
    if (this.renewTimer) clearTimeout(this.renewTimer);
    const ttl = this.sessionExpiresAt - Date.now();
    this.renewTimer = setTimeout(() => void this.renew(), Math.max(5_000, ttl - Math.min(RENEW_BEFORE_MS, ttl / 5)));
  }

  private createProvider(token: string): void {
    const provider = new WebsocketProvider(this.options.syncUrl ?? defaultSyncUrl(), `report:${this.options.reportId}`, this.doc, {
      params: { token },
      awareness: this.awareness,
      // Two tabs of one profile must meet on the server, not skip it through BroadcastChannel.
      disableBc: true,
      maxBackoffTime: 2_000,
      // The stock rule stops at every 44xx; rate limits and restarts are worth retrying (SPEC).
      shouldReconnect: (event) => RETRYABLE_CLOSE_CODES.includes(event.code) || !(event.code >= 4400 && event.code < 4500),
    });
    type Handler = (typeof provider.messageHandlers)[number];
    const syncHandler = provider.messageHandlers[0] as Handler;
    provider.messageHandlers[0] = (encoder, decoder, p, emitSynced, type) => {
      const peek: Cursor = { arr: (decoder as unknown as Cursor).arr, pos: (decoder as unknown as Cursor).pos };
      if (readVarUint(peek) === 0) this.onServerStateVector(Y.decodeStateVector(readVarBytes(peek)));
      syncHandler(encoder, decoder, p, emitSynced, type);
    };
    const awarenessHandler = provider.messageHandlers[1] as Handler;
    provider.messageHandlers[1] = (encoder, decoder, p, emitSynced, type) => {
      const peek: Cursor = { arr: (decoder as unknown as Cursor).arr, pos: (decoder as unknown as Cursor).pos };
      const clock = awarenessClockOf(readVarBytes(peek), this.doc.clientID);
      awarenessHandler(encoder, decoder, p, emitSynced, type);
      if (clock !== null) this.onEcho(clock);
    };
    provider.messageHandlers[MESSAGE_TYPE_NOTICE] = (_encoder, decoder) => {
      this.onNotice(JSON.parse(readVarString(decoder as unknown as Cursor)) as SyncNotice);
    };
    provider.on('status', ({ status }) => {
      if (status !== 'connected') this.serverStep1Seen = false;
      this.marks = [];
      this.refreshLink();
    });
    provider.on('sync', (synced: boolean) => {
      this.refreshLink();
      if (synced) this.sendMark();
    });
    provider.on('closed', ({ code }) => {
      if (code === CLOSE_CODES.accessRevoked) {
        this.revokeAccess();
      } else if (code === CLOSE_CODES.unauthorized || code === CLOSE_CODES.forbidden) {
        // An expired token (e.g. after a long offline spell) or a changed mode: ask for a new one.
        this.authFailures += 1;
        if (this.authFailures <= 3) void this.renew();
        else this.update({ problem: 'The sync server refused this session. Reload the page to try again.' });
      } else {
        this.update({ problem: `The sync server closed the connection (${code}).` });
      }
      this.refreshLink();
    });
    this.provider = provider;
    this.refreshLink();
  }

  /** Deactivated or role changed: stop for good (no token, no reconnect) and say why. */
  private revokeAccess(): void {
    this.revoked = true;
    for (const timer of [this.renewTimer, this.retryTimer]) if (timer) clearTimeout(timer);
    this.renewTimer = null;
    this.retryTimer = null;
    this.provider?.disconnect();
    this.update({ mode: 'ro', readOnlyReason: 'Read-only: access withdrawn', problem: ACCESS_REVOKED_PROBLEM });
    this.options.onAccessRevoked?.();
  }

  // ------------------------------------------------------------------ what the server holds

  private readonly onServerStateVector = (sv: StateVector): void => {
    // Its state now: replaces what we knew (a crashed server may hold less than it once did).
    this.serverSV = new Map(sv);
    this.serverStep1Seen = true;
    this.authFailures = 0;
    if (this.snapshot.problem && !this.revoked) this.update({ problem: null });
    this.schedulePersist();
    this.refreshPending();
  };

  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this.provider && this.serverSV) {
      // Everything the server sends, it holds.
      if (mergeInto(this.serverSV, Y.parseUpdateMeta(update).to)) this.schedulePersist();
    }
    if (origin !== this.persistence) this.checkOnDevice();
    this.refreshPending();
  };

  /** "On the device" once the sealed copy has committed every update made so far. */
  private checkOnDevice(): void {
    this.deviceCheck += 1;
    if (this.snapshot.onDevice) this.update({ onDevice: false });
    const check = this.deviceCheck;
    void this.persistence.flushed().then(() => {
      if (this.deviceCheck === check && !this.destroyed) this.update({ onDevice: true });
    });
  }

  private readonly onTransaction = (tr: Y.Transaction): void => {
    if (!tr.local) return;
    let changed = tr.deleteSet.clients.size > 0;
    if (changed) this.deletes += 1;
    for (const [client, clock] of tr.afterState) if ((tr.beforeState.get(client) ?? 0) !== clock) changed = true;
    if (!changed) return;
    this.schedulePersist();
    if (this.provider?.synced) this.scheduleMark();
  };

  private canConfirm(): boolean {
    return (
      !!this.provider?.wsconnected &&
      this.provider.synced &&
      this.serverStep1Seen &&
      this.snapshot.mode === 'rw' &&
      this.snapshot.lockedAt === null
    );
  }

  private readonly onAwarenessUpdate = (_change: unknown, origin: unknown): void => {
    if (origin !== 'local' || !this.canConfirm()) return;
    const clock = this.awareness.meta.get(this.doc.clientID)?.clock;
    if (clock === undefined) return;
    if (this.markTimer) {
      clearTimeout(this.markTimer);
      this.markTimer = null;
    }
    this.marks.push({ clock, sv: Y.decodeStateVector(Y.encodeStateVector(this.doc)), deletes: this.deletes });
    if (this.marks.length > 500) this.marks.splice(0, this.marks.length - 500);
  };

  private scheduleMark(): void {
    if (this.markTimer) return;
    // Carets usually send awareness right after an edit; if nothing did, send a marker ourselves.
    this.markTimer = setTimeout(() => {
      this.markTimer = null;
      this.sendMark();
    }, 60);
  }

  private sendMark(): void {
    if (!this.canConfirm()) return;
    this.awareness.setLocalState(this.awareness.getLocalState() ?? {});
  }

  private onEcho(clock: number): void {
    if (!this.serverSV) return;
    let confirmed: Mark | null = null;
    while (this.marks.length > 0 && this.marks[0]!.clock <= clock) confirmed = this.marks.shift()!;
    if (!confirmed || !this.canConfirm()) return;
    const grew = mergeInto(this.serverSV, confirmed.sv);
    const deletesGrew = confirmed.deletes > this.confirmedDeletes;
    if (deletesGrew) this.confirmedDeletes = confirmed.deletes;
    if (grew || deletesGrew) {
      this.snapshot = { ...this.snapshot, lastSavedAt: Date.now() };
      this.schedulePersist();
    }
    this.refreshPending();
  }

  private onNotice(notice: SyncNotice): void {
    if (notice.type === 'locked') this.update({ lockedAt: notice.lockedAt });
    else if (notice.type === 'unlocked') this.update({ lockedAt: null });
    else if (notice.type === 'late-edit-stored') this.update({ lateEditsStored: this.snapshot.lateEditsStored + 1 });
    // The server drops this connection's edits from now on: stop taking them, and keep the ones it
    // has not confirmed counted as pending so the status says they did not reach the report.
    else if (notice.type === 'read-only') this.update({ mode: 'ro', readOnlyReason: READ_ONLY_REASON });
    this.refreshLink();
    this.options.onNotice?.(notice);
  }

  /** Local vs server, in Yjs items plus unconfirmed deletions. */
  pendingNow(): number | null {
    if (!this.serverSV) return null;
    return (
      itemsAhead(Y.decodeStateVector(Y.encodeStateVector(this.doc)), this.serverSV) + Math.max(0, this.deletes - this.confirmedDeletes)
    );
  }

  /** The server's known state vector (for tests and the finalize check). */
  serverStateVector(): StateVector | null {
    return this.serverSV ? new Map(this.serverSV) : null;
  }

  private refreshPending(): void {
    const pending = this.pendingNow();
    if (pending !== this.snapshot.pending) this.update({ pending });
    this.refreshLink();
  }

  private refreshLink(): void {
    const p = this.provider;
    let link: LinkState;
    if (!p?.wsconnected) link = p?.wsconnecting && navigator.onLine ? 'connecting' : 'offline';
    else if (!p.synced || (this.snapshot.pending ?? 1) > 0) link = 'syncing';
    else link = 'live';
    if (link !== this.snapshot.link) this.update({ link });
  }

  private readonly onPresence = (): void => {
    const presence: PresenceUser[] = [];
    for (const [clientId, state] of this.awareness.getStates()) {
      const user = (state as { user?: Partial<AwarenessUser> }).user;
      if (!user?.name) continue;
      presence.push({
        clientId,
        name: user.name,
        role: user.role ?? '',
        color: user.color ?? '#888',
        self: clientId === this.doc.clientID,
      });
    }
    presence.sort((a, b) => Number(b.self) - Number(a.self) || a.name.localeCompare(b.name));
    const same =
      presence.length === this.snapshot.presence.length &&
      presence.every((p, i) => {
        const q = this.snapshot.presence[i]!;
        return p.clientId === q.clientId && p.name === q.name && p.role === q.role && p.color === q.color;
      });
    if (!same) this.update({ presence });
  };

  private readonly onOnline = (): void => {
    if (this.revoked) return;
    if (!this.provider || Date.now() > this.sessionExpiresAt - 5_000) void this.renew();
    else this.provider.connect();
    this.refreshLink();
  };

  /** The browser knows the network is gone: drop the socket now rather than wait for a timeout. */
  private readonly onOffline = (): void => {
    this.provider?.disconnect();
    this.refreshLink();
  };

  private readonly onVisibility = (): void => {
    if (document.visibilityState === 'hidden') this.flushNow();
  };

  /** The debounced record of what the server holds, written now (updates themselves are never debounced). */
  private readonly flushNow = (): void => {
    if (!this.persistTimer) return;
    clearTimeout(this.persistTimer);
    this.persistTimer = null;
    void this.persistMeta();
  };

  private schedulePersist(): void {
    if (this.persistTimer || this.destroyed) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = null;
      void this.persistMeta();
    }, 300);
  }

  /** Merges the stored updates into one row when idle, so the next offline open reads one row. */
  private compactSoon(): void {
    if (this.persistence.rows < COMPACT_AFTER_ROWS || this.destroyed) return;
    const run = () => {
      if (!this.destroyed) void this.persistence.compact().catch(() => undefined);
    };
    if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 2_000 });
    else setTimeout(run, 500);
  }

  private async persistMeta(): Promise<void> {
    this.compactSoon();
    try {
      if (this.serverSV) await this.persistence.set(META.serverSV, toBase64(Y.encodeStateVector(this.serverSV)));
      await this.persistence.set(META.deletes, Math.max(0, this.deletes - this.confirmedDeletes));
      if (this.snapshot.lastSavedAt) await this.persistence.set(META.savedAt, this.snapshot.lastSavedAt);
    } catch {
      // The database is closing (page leaving); the next session recomputes from the server.
    }
  }

  private update(patch: Partial<ConnectionSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener();
  }
}
