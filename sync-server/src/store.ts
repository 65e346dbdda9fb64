/**
 * Persistence of documents (SPEC.md DUR-*): an append-only update log plus one snapshot per
 * document, the finalization lock and late edits, in tables the sync-server owns (`sync_*`).
 * `DocumentStore` is the seam the document layer talks to; tests wrap it to inject failures.
 */

import { type ClientBinding, rangesPerUser, type UserRanges } from '@pacs/shared/report-document';
import { DataTypes, type Model, Op, type Sequelize, type Transaction } from 'sequelize';
import * as Y from 'yjs';
import type { AuthorshipRecord } from './authorship/client-authors';
import { connectDatabase } from './db/connect';
import { migrate } from './db/migrate';

export interface LockRecord {
  lockedBy: string;
  lockedAt: Date;
  stateVector: Uint8Array;
}

export interface LateEditRecord {
  id: string;
  userId: string;
  userName: string;
  data: Uint8Array;
  createdAt: Date;
}

export interface StoredDocument {
  /** Snapshot then log rows, in order: applying all of them rebuilds the document. */
  updates: Uint8Array[];
  /** Number of log rows not yet folded into the snapshot. */
  logLength: number;
  lock: LockRecord | null;
  /** Client id → user, in the order stored (AUTHOR-1: the first row of a client id wins). */
  authors: ClientBinding[];
}

export interface AppendEntry {
  document: string;
  /** Null when only authorship is left to store (the update itself went in an earlier write). */
  update: Uint8Array | null;
  authorship?: AuthorshipRecord;
}

/** AUTHOR-3: the document's bindings and each user's ranges, merged per user and kind. */
export interface StoredAuthorship {
  clients: ClientBinding[];
  ranges: UserRanges[];
}

export interface DocumentStore {
  load(document: string): Promise<StoredDocument>;
  /** Appends log rows and their authorship, all or none (one transaction): one row per document per flush. */
  appendUpdates(entries: AppendEntry[]): Promise<void>;
  loadAuthorship(document: string): Promise<StoredAuthorship>;
  /**
   * Folds snapshot + log into one snapshot, in a transaction (DUR-5). `state` is the in-memory
   * document's full state; rows are merged in too, so a row this process never saw is kept.
   * Authorship rows are tidied in the same transaction: one range row per user and kind, duplicate
   * bindings dropped (AUTHOR-5).
   */
  compact(document: string, state: Uint8Array): Promise<void>;
  setLock(document: string, lock: LockRecord): Promise<void>;
  /** The stored lock alone (scale-out: the truth after missed messages, SCALE-4/SCALE-6). */
  getLock(document: string): Promise<LockRecord | null>;
  clearLock(document: string): Promise<void>;
  addLateEdit(document: string, edit: Omit<LateEditRecord, 'id'>): Promise<LateEditRecord>;
  listLateEdits(document: string): Promise<LateEditRecord[]>;
  close(): Promise<void>;
}

const DELETE_CHUNK = 500;
const UPDATE_ROWS_PER_INSERT = 500;

/** A DATE as Sequelize writes it on every dialect (SQLite keeps the text; the others parse it). */
const sequelizeTimestamp = (date: Date): string => `${date.toISOString().replace('T', ' ').replace('Z', '')} +00:00`;

type Row = Model<Record<string, unknown>, Record<string, unknown>>;
type Models = ReturnType<typeof defineModels>;

/** Models per Sequelize instance (tests open several stores in one process). */
function defineModels(sequelize: Sequelize) {
  const documentName = { type: DataTypes.STRING(200), allowNull: false };
  const options = { timestamps: false, freezeTableName: true };
  return {
    updates: sequelize.define<Row>(
      'SyncUpdate',
      {
        id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
        document: documentName,
        data: { type: DataTypes.BLOB, allowNull: false },
        createdAt: { type: DataTypes.DATE, allowNull: false },
      },
      { ...options, tableName: 'sync_updates' },
    ),
    snapshots: sequelize.define<Row>(
      'SyncSnapshot',
      {
        document: { ...documentName, primaryKey: true },
        data: { type: DataTypes.BLOB, allowNull: false },
        lastUpdateId: { type: DataTypes.BIGINT, allowNull: false },
        updatedAt: { type: DataTypes.DATE, allowNull: false },
      },
      { ...options, tableName: 'sync_snapshots' },
    ),
    locks: sequelize.define<Row>(
      'SyncLock',
      {
        document: { ...documentName, primaryKey: true },
        lockedBy: { type: DataTypes.STRING(64), allowNull: false },
        lockedAt: { type: DataTypes.DATE, allowNull: false },
        stateVector: { type: DataTypes.BLOB, allowNull: false },
      },
      { ...options, tableName: 'sync_locks' },
    ),
    lateEdits: sequelize.define<Row>(
      'SyncLateEdit',
      {
        id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
        document: documentName,
        userId: { type: DataTypes.STRING(64), allowNull: false },
        userName: { type: DataTypes.STRING(200), allowNull: false },
        data: { type: DataTypes.BLOB, allowNull: false },
        createdAt: { type: DataTypes.DATE, allowNull: false },
      },
      { ...options, tableName: 'sync_late_edits' },
    ),
    authors: sequelize.define<Row>(
      'SyncAuthor',
      {
        id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
        document: documentName,
        clientId: { type: DataTypes.BIGINT, allowNull: false },
        userId: { type: DataTypes.STRING(64), allowNull: false },
        userName: { type: DataTypes.STRING(200), allowNull: false },
        createdAt: { type: DataTypes.DATE, allowNull: false },
      },
      { ...options, tableName: 'sync_authors' },
    ),
    editRanges: sequelize.define<Row>(
      'SyncEditRanges',
      {
        id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
        document: documentName,
        kind: { type: DataTypes.STRING(16), allowNull: false },
        userId: { type: DataTypes.STRING(64), allowNull: false },
        userName: { type: DataTypes.STRING(200), allowNull: false },
        ranges: { type: DataTypes.BLOB, allowNull: false },
        createdAt: { type: DataTypes.DATE, allowNull: false },
      },
      { ...options, tableName: 'sync_edit_ranges' },
    ),
  };
}

const get = <T>(row: Row, key: string): T => row.get(key) as T;

/** The first binding of each client id (AUTHOR-1). */
function firstBindings(bindings: readonly ClientBinding[]): ClientBinding[] {
  const seen = new Set<number>();
  return bindings.filter((b) => !seen.has(b.clientId) && seen.add(b.clientId));
}

/** Range rows grouped per kind and user, each group's ranges merged (AUTHOR-3, AUTHOR-5). */
const rangeRowsPerUser = (rows: readonly Row[]) =>
  rangesPerUser(
    rows.map((row) => ({
      kind: get<UserRanges['kind']>(row, 'kind'),
      userId: get<string>(row, 'userId'),
      userName: get<string>(row, 'userName'),
      ranges: bytes(get(row, 'ranges')),
      row,
    })),
  );
const bytes = (b: Buffer | Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const buffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class SequelizeStore implements DocumentStore {
  private readonly m: Models;
  /** The start of insertUpdates' statement, quoted for the dialect once. */
  private readonly insertUpdatesHead: string;
  private constructor(readonly sequelize: Sequelize) {
    this.m = defineModels(sequelize);
    const q = (name: string) => sequelize.getQueryInterface().quoteIdentifier(name);
    this.insertUpdatesHead = `INSERT INTO ${q('sync_updates')} (${q('document')}, ${q('data')}, ${q('createdAt')}) VALUES `;
  }

  /** Connects, runs the sync-server's migrations and defines its models. */
  static async open(databaseUrl: string): Promise<SequelizeStore> {
    const sequelize = await connectDatabase(databaseUrl);
    await migrate(sequelize);
    return new SequelizeStore(sequelize);
  }

  async load(document: string): Promise<StoredDocument> {
    const { snapshots, updates: log, locks } = this.m;
    const [snapshot, rows, lock, authors] = await Promise.all([
      snapshots.findByPk(document),
      log.findAll({ where: { document }, order: [['id', 'ASC']], attributes: ['id', 'data'] }),
      locks.findByPk(document),
      this.bindings(document),
    ]);
    const updates: Uint8Array[] = [];
    if (snapshot) updates.push(bytes(get(snapshot, 'data')));
    for (const row of rows) updates.push(bytes(get(row, 'data')));
    return {
      updates,
      logLength: rows.length,
      lock: lock
        ? { lockedBy: get(lock, 'lockedBy'), lockedAt: new Date(get(lock, 'lockedAt')), stateVector: bytes(get(lock, 'stateVector')) }
        : null,
      authors,
    };
  }

  private async bindings(document: string, transaction?: Transaction): Promise<ClientBinding[]> {
    const rows = await this.m.authors.findAll({ where: { document }, order: [['id', 'ASC']], transaction });
    return rows.map((r) => ({ clientId: Number(get(r, 'clientId')), userId: get(r, 'userId'), userName: get(r, 'userName') }));
  }

  async appendUpdates(entries: AppendEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const createdAt = new Date();
    const updates = entries.flatMap((e) => (e.update ? [{ document: e.document, data: buffer(e.update), createdAt }] : []));
    const authors = entries.flatMap((e) => (e.authorship?.bindings ?? []).map((b) => ({ document: e.document, ...b, createdAt })));
    const ranges = entries.flatMap((e) =>
      (e.authorship?.ranges ?? []).map((r) => ({ document: e.document, ...r, ranges: buffer(r.ranges), createdAt })),
    );
    if (authors.length === 0 && ranges.length === 0) {
      await this.insertUpdates(updates);
      return;
    }
    await this.sequelize.transaction(async (transaction) => {
      if (updates.length > 0) await this.insertUpdates(updates, transaction);
      if (authors.length > 0) await this.m.authors.bulkCreate(authors, { transaction });
      if (ranges.length > 0) await this.m.editRanges.bulkCreate(ranges, { transaction });
    });
  }

  /**
   * The hot path of every flush (DUR-2), so not bulkCreate: that builds a model per row and writes
   * each update into the SQL text as a hex literal. Bound parameters instead, the one timestamp
   * shared, at most UPDATE_ROWS_PER_INSERT rows a statement (SQL Server takes 2,100 parameters).
   */
  private async insertUpdates(rows: { document: string; data: Buffer; createdAt: Date }[], transaction?: Transaction) {
    for (let start = 0; start < rows.length; start += UPDATE_ROWS_PER_INSERT) {
      const chunk = rows.slice(start, start + UPDATE_ROWS_PER_INSERT);
      const bind: unknown[] = [sequelizeTimestamp(chunk[0]!.createdAt)];
      const values = chunk.map((row) => {
        bind.push(row.document, row.data);
        return `($${bind.length - 1}, $${bind.length}, $1)`;
      });
      await this.sequelize.query(this.insertUpdatesHead + values.join(', '), { bind, transaction, raw: true });
    }
  }

  async loadAuthorship(document: string): Promise<StoredAuthorship> {
    const [clients, rows] = await Promise.all([
      this.bindings(document),
      this.m.editRanges.findAll({ where: { document }, order: [['id', 'ASC']] }),
    ]);
    return {
      clients: firstBindings(clients),
      ranges: rangeRowsPerUser(rows).map((group) => group.merged),
    };
  }

  /** AUTHOR-5: one range row per kind and user, one binding row per client id; inside compaction's transaction. */
  private async tidyAuthorship(document: string, transaction: Transaction): Promise<void> {
    const { authors, editRanges } = this.m;
    const all = await authors.findAll({ where: { document }, order: [['id', 'ASC']], attributes: ['id', 'clientId'], transaction });
    const seen = new Set<number>();
    const duplicates = all.filter((r) => {
      const client = Number(get(r, 'clientId'));
      if (seen.has(client)) return true;
      seen.add(client);
      return false;
    });
    await this.destroyIds(authors, duplicates, transaction);
    const rows = await editRanges.findAll({ where: { document }, order: [['id', 'ASC']], transaction });
    for (const { items, merged } of rangeRowsPerUser(rows)) {
      if (items.length < 2) continue;
      await editRanges.update({ ranges: buffer(merged.ranges) }, { where: { id: get(items[0]!.row, 'id') }, transaction });
      await this.destroyIds(
        editRanges,
        items.slice(1).map((item) => item.row),
        transaction,
      );
    }
  }

  private async destroyIds(model: Models[keyof Models], rows: readonly Row[], transaction: Transaction): Promise<void> {
    const ids = rows.map((r) => get<string | number>(r, 'id'));
    for (let i = 0; i < ids.length; i += DELETE_CHUNK) {
      await model.destroy({ where: { id: { [Op.in]: ids.slice(i, i + DELETE_CHUNK) } }, transaction });
    }
  }

  append(document: string, update: Uint8Array): Promise<void> {
    return this.appendUpdates([{ document, update }]);
  }

  async compact(document: string, state: Uint8Array): Promise<void> {
    const { snapshots, updates: log } = this.m;
    await this.sequelize.transaction(async (transaction) => {
      const snapshot = await snapshots.findByPk(document, { transaction });
      const rows = await log.findAll({ where: { document }, order: [['id', 'ASC']], attributes: ['id', 'data'], transaction });
      const doc = new Y.Doc();
      try {
        Y.applyUpdate(doc, state);
        if (snapshot) Y.applyUpdate(doc, bytes(get(snapshot, 'data')));
        for (const row of rows) Y.applyUpdate(doc, bytes(get(row, 'data')));
        const merged = buffer(Y.encodeStateAsUpdate(doc));
        const ids = rows.map((r) => get<string | number>(r, 'id'));
        const lastUpdateId = ids.length > 0 ? ids[ids.length - 1]! : snapshot ? get<string | number>(snapshot, 'lastUpdateId') : 0;
        const updatedAt = new Date();
        if (snapshot) {
          await snapshots.update({ data: merged, lastUpdateId, updatedAt }, { where: { document }, transaction });
        } else {
          await snapshots.create({ document, data: merged, lastUpdateId, updatedAt }, { transaction });
        }
        // Delete exactly the rows that were read and merged, never a range: a row another writer
        // committed meanwhile stays.
        await this.destroyIds(log, rows, transaction);
        await this.tidyAuthorship(document, transaction);
      } finally {
        doc.destroy();
      }
    });
  }

  async setLock(document: string, lock: LockRecord): Promise<void> {
    const { locks } = this.m;
    await this.sequelize.transaction(async (transaction) => {
      await locks.destroy({ where: { document }, transaction });
      await locks.create(
        { document, lockedBy: lock.lockedBy, lockedAt: lock.lockedAt, stateVector: buffer(lock.stateVector) },
        { transaction },
      );
    });
  }

  async getLock(document: string): Promise<LockRecord | null> {
    const lock = await this.m.locks.findByPk(document);
    return lock
      ? { lockedBy: get(lock, 'lockedBy'), lockedAt: new Date(get(lock, 'lockedAt')), stateVector: bytes(get(lock, 'stateVector')) }
      : null;
  }

  async clearLock(document: string): Promise<void> {
    await this.m.locks.destroy({ where: { document } });
  }

  async addLateEdit(document: string, edit: Omit<LateEditRecord, 'id'>): Promise<LateEditRecord> {
    const row = await this.m.lateEdits.create({
      document,
      userId: edit.userId,
      userName: edit.userName,
      data: buffer(edit.data),
      createdAt: edit.createdAt,
    });
    return { ...edit, id: String(get(row, 'id')) };
  }

  async listLateEdits(document: string): Promise<LateEditRecord[]> {
    const rows = await this.m.lateEdits.findAll({ where: { document }, order: [['id', 'ASC']] });
    return rows.map((r) => ({
      id: String(get(r, 'id')),
      userId: get<string>(r, 'userId'),
      userName: get<string>(r, 'userName'),
      data: bytes(get(r, 'data')),
      createdAt: new Date(get<Date>(r, 'createdAt')),
    }));
  }

  async close(): Promise<void> {
    await this.sequelize.close();
  }
}
