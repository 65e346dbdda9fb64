/**
 * The device's copy of the worklist, one IndexedDB database per user (so one user's cache and
 * pending changes never mix with another's on a shared tablet). Rows are the server's truth;
 * pending changes live in the outbox and are overlaid for display until the server accepts them.
 * Everything with patient data is sealed under the vault's data key (`db.sealed`, vault/).
 */

import type { CriticalCategory, KeyImage, Macro, Measurement, OfflineReadEntry } from '@pacs/shared';
import Dexie, { type EntityTable, type Table } from 'dexie';
import type { StudyDetail, StudyPatch, WorklistStudy } from '../api/types';
import { forgetHeld } from './eviction';
import { type SealedRecord, SealedTable } from './vault/sealed-table';

export type OutboxState = 'pending' | 'sending' | 'conflict' | 'failed';

export interface OutboxEntry {
  seq?: number;
  /** Idempotency key: sent as `Idempotency-Key`, and used to recognise a replay the server already applied. */
  key: string;
  studyId: string;
  /** What the user asked for (without `version`). */
  patch: Omit<StudyPatch, 'version'>;
  /** The study version the user saw when asking. */
  baseVersion: number;
  /** Human words for the change, e.g. "assign to me". */
  label: string;
  createdAt: string;
  state: OutboxState;
  attempts: number;
  error?: string;
}

export interface MetaEntry {
  key: string;
  value: unknown;
}

export interface CachedDetail extends StudyDetail {
  id: string;
  cachedAt: string;
}

/** Issue 7: a study made available offline (metadata encrypted; see web/README.md "Offline studies"). */
export interface OfflineStudyRow {
  /** The API's study id. */
  id: string;
  studyInstanceUid: string;
  /** Not PHI: what the list of offline studies shows before decrypting, e.g. "CT · 2026-11-01". */
  label: string;
  state: 'downloading' | 'paused' | 'complete' | 'error';
  totalFrames: number;
  doneFrames: number;
  /** Stored bytes (ciphertext) of frames and metadata. */
  bytes: number;
  createdAt: number;
  lastOpenedAt: number;
  error?: string;
  /** AES-GCM of the study's DICOM JSON metadata and the worklist row. */
  iv: Uint8Array<ArrayBuffer>;
  data: ArrayBuffer;
}

/** One frame's pixel data (as WADO-RS delivered it, still compressed), encrypted. */
export interface OfflineFrameRow {
  /** The frame's WADO-RS path, /dicom-web/studies/…/frames/N (UIDs only). */
  key: string;
  studyId: string;
  transferSyntax: string;
  iv: Uint8Array<ArrayBuffer>;
  data: ArrayBuffer;
  bytes: number;
}

/**
 * A critical-result flag raised without a connection: it waits here and is sent, with its own id,
 * when the device is back online. Its clock starts when the server receives it.
 */
export interface PendingCriticalFlag {
  clientId: string;
  reportId: string;
  category: CriticalCategory;
  message: string;
  /** When the user raised it on this device. */
  raisedAt: string;
  state: 'pending' | 'failed';
  error?: string;
}

/**
 * A measurement or key-image change made on this device, waiting for the server in order. Creates
 * carry the device-made id, so a replay the server already applied is recorded once.
 */
export interface MeasurementOp {
  seq?: number;
  /** Unique per change: the measurement or key image id plus what was done. */
  key: string;
  studyId: string;
  kind: 'create' | 'update' | 'delete' | 'flag' | 'unflag';
  /** The measurement or key image id. */
  targetId: string;
  body?: unknown;
  createdAt: string;
}

/** The server's measurements and key images of a study as last seen, for opening it offline. */
export interface CachedAnnotations {
  studyId: string;
  measurements: Measurement[];
  keyImages: KeyImage[];
}

/** A change to one of the user's macros made on this device, replayed in order when online. */
export interface MacroChange {
  seq?: number;
  /** The macro's id (made on this device for a new one). */
  id: string;
  op: 'put' | 'delete';
  body?: Pick<Macro, 'trigger' | 'label' | 'text'>;
}

/** A study's report as last fetched, without its text (that is in the report's own sealed copy). */
export interface CachedReport {
  studyId: string;
  /** The report API's answer (report/report-api.ts), kept as it came. */
  report: unknown;
  /** The study row's version when this copy was taken: a new version means the report may have changed. */
  rowVersion?: number;
  /** Set while the report was started on this device and is not on the server yet (report/offline-start.ts). */
  pendingStart?: { templateId: string | null; seed: string };
}

/** The tables with patient data, sealed (their raw Dexie tables hold only ciphertext and plain keys). */
export interface SealedTables {
  studies: SealedTable<WorklistStudy>;
  details: SealedTable<CachedDetail>;
  criticalFlags: SealedTable<PendingCriticalFlag>;
  measurementOps: SealedTable<MeasurementOp, number>;
  measurementCache: SealedTable<CachedAnnotations>;
  reports: SealedTable<CachedReport>;
  /** Patient data viewed offline, hash-chained, until the server has it (offline-reads.ts). */
  offlineReads: SealedTable<OfflineReadEntry, number>;
}

export type WorklistDb = Dexie & {
  /** Sealed worklist rows; plain: id, version, assigneeId ('' when unassigned). */
  studies: Table<SealedRecord, string>;
  details: Table<SealedRecord, string>;
  outbox: EntityTable<OutboxEntry, 'seq'>;
  meta: EntityTable<MetaEntry, 'key'>;
  offlineStudies: EntityTable<OfflineStudyRow, 'id'>;
  offlineFrames: EntityTable<OfflineFrameRow, 'key'>;
  criticalFlags: Table<SealedRecord, string>;
  measurementOps: Table<SealedRecord, number>;
  measurementCache: Table<SealedRecord, string>;
  reports: Table<SealedRecord, string>;
  offlineReads: Table<SealedRecord, number>;
  macros: EntityTable<Macro, 'id'>;
  macroChanges: EntityTable<MacroChange, 'seq'>;
  sealed: SealedTables;
};

export const DB_PREFIX = 'pacs-worklist-';

export function dbNameFor(userId: string): string {
  return `${DB_PREFIX}${userId}`;
}

/**
 * Every worklist database this page has opened. Dexie answers another connection's delete by closing
 * with auto-open still on, so a sync write landing after the wipe would quietly recreate the database
 * (with PHI) — the wipe closes these for good first.
 */
const openDbs = new Set<WorklistDb>();

/** `dataKey` is the vault's (it throws while the vault is locked). */
export function openWorklistDb(userId: string, dataKey: () => CryptoKey): WorklistDb {
  const db = new Dexie(dbNameFor(userId)) as WorklistDb;
  openDbs.add(db);
  db.version(1).stores({
    studies: 'id, status, priority, receivedAt, assignee.id',
    details: 'id',
    outbox: '++seq, &key, studyId, state',
    meta: 'key',
  });
  // Issue 7: offline studies live in the same per-user database, so logout's wipe removes them too.
  db.version(2).stores({
    offlineStudies: 'id, studyInstanceUid, lastOpenedAt, state',
    offlineFrames: 'key, studyId',
    offlineKeys: 'id',
  });
  db.version(3).stores({ criticalFlags: 'clientId, reportId' });
  db.version(4).stores({ measurementOps: '++seq, &key, studyId', measurementCache: 'studyId' });
  // The user's macros (configuration, not patient data) and the changes made while offline.
  db.version(5).stores({ macros: 'id, trigger', macroChanges: '++seq, id' });
  // Sealed records. What earlier versions kept in the clear: the server's copies are fetched again;
  // offline studies were sealed under a key stored beside them (gone now) and are downloaded again;
  // what the user made offline (flags, measurement changes) is sealed at the next unlock.
  db.version(6)
    .stores({ studies: 'id, assigneeId', offlineKeys: null, reports: 'studyId', offlineReads: 'seq' })
    .upgrade(async (tx) => {
      for (const name of ['studies', 'details', 'measurementCache', 'offlineStudies', 'offlineFrames']) await tx.table(name).clear();
      await tx.table('meta').delete('cursor');
      await tx
        .table('outbox')
        .toCollection()
        .modify((entry: Record<string, unknown>) => {
          delete entry.serverRow;
        });
    });
  db.sealed = {
    studies: new SealedTable(db.studies, dataKey, {
      name: 'study',
      idField: 'id',
      indexes: (row) => ({ version: row.version, assigneeId: row.assignee?.id ?? '' }),
    }),
    details: new SealedTable(db.details, dataKey, { name: 'detail', idField: 'id' }),
    criticalFlags: new SealedTable(db.criticalFlags, dataKey, {
      name: 'critical-flag',
      idField: 'clientId',
      indexes: (flag) => ({ reportId: flag.reportId }),
    }),
    measurementOps: new SealedTable(db.measurementOps, dataKey, {
      name: 'measurement-op',
      idField: 'key',
      indexes: (op) => ({ studyId: op.studyId }),
      keep: ['seq'],
    }),
    measurementCache: new SealedTable(db.measurementCache, dataKey, { name: 'measurements', idField: 'studyId' }),
    reports: new SealedTable(db.reports, dataKey, { name: 'report', idField: 'studyId' }),
    offlineReads: new SealedTable(db.offlineReads, dataKey, { name: 'offline-read', idField: 'seq' }),
  };
  return db;
}

/** Seals what an earlier version of the app kept in the clear (the user's offline flags and measurement changes). */
export async function sealLegacyRecords(db: WorklistDb): Promise<void> {
  for (const [table, sealed] of [
    [db.criticalFlags, db.sealed.criticalFlags],
    [db.measurementOps, db.sealed.measurementOps],
  ] as const) {
    const legacy = (await table.toArray()).filter((record) => !record.data);
    for (const record of legacy) {
      const sealedRecord = await (sealed as unknown as SealedTable<object, never>).seal(record as object);
      await table.put(sealedRecord as never);
    }
  }
}

export async function getMeta<T>(db: WorklistDb, key: string): Promise<T | undefined> {
  return (await db.meta.get(key))?.value as T | undefined;
}

export async function setMeta(db: WorklistDb, key: string, value: unknown): Promise<void> {
  await db.meta.put({ key, value });
}

/** Deletes every worklist database on this device (PHI), e.g. at logout. */
export async function wipeAllWorklistDbs(): Promise<void> {
  for (const db of openDbs) db.close({ disableAutoOpen: true });
  openDbs.clear();
  const names = new Set<string>(knownDbNames());
  try {
    for (const name of await Dexie.getDatabaseNames()) if (name.startsWith(DB_PREFIX)) names.add(name);
  } catch {
    // getDatabaseNames is not available everywhere; the remembered names suffice
  }
  forgetHeld();
  await Promise.all([...names].map((name) => Dexie.delete(name)));
  localStorage.removeItem(KNOWN_DBS);
}

const KNOWN_DBS = 'pacs.knownDbs';
export function rememberDb(userId: string): void {
  const names = new Set(knownDbNames());
  names.add(dbNameFor(userId));
  localStorage.setItem(KNOWN_DBS, JSON.stringify([...names]));
}
function knownDbNames(): string[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(KNOWN_DBS) ?? '[]') as unknown;
    return Array.isArray(parsed) ? parsed.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

/** The row as the user should see it: the server row with their pending changes applied. */
export function overlay(row: WorklistStudy, pending: readonly OutboxEntry[], me: { id: string; name: string }): WorklistStudy {
  let shown = row;
  for (const entry of pending) {
    // Conflicts and failures show the server's row (and the conflict view shows the intent).
    if (entry.state !== 'pending' && entry.state !== 'sending') continue;
    const p = entry.patch;
    shown = {
      ...shown,
      ...(p.priority !== undefined ? { priority: p.priority } : {}),
      ...(p.status !== undefined ? { status: p.status } : {}),
      ...(p.assigneeId !== undefined
        ? { assignee: p.assigneeId === null ? null : p.assigneeId === me.id ? { id: me.id, name: me.name } : shown.assignee }
        : {}),
    };
  }
  return shown;
}
