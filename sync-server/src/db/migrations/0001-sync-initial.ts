/**
 * Update log, snapshots, locks and late edits. Only types SQLite, PostgreSQL and SQL Server share:
 * BIGINT identity, VARCHAR, BLOB (BYTEA / VARBINARY(MAX)), DATE, INTEGER. Document names are
 * `report:<uuid>` (43 chars); 200 leaves room for future document kinds.
 */

import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

const documentName = { type: DataTypes.STRING(200), allowNull: false };

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  // Append-only log of Yjs updates (v1 encoding), folded into sync_snapshots by compaction.
  await qi.createTable('sync_updates', {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true, allowNull: false },
    document: documentName,
    data: { type: DataTypes.BLOB, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('sync_updates', ['document', 'id'], { name: 'sync_updates_document' });

  // One merged state per document; every log row with id <= lastUpdateId is already in it.
  await qi.createTable('sync_snapshots', {
    document: { ...documentName, primaryKey: true },
    data: { type: DataTypes.BLOB, allowNull: false },
    lastUpdateId: { type: DataTypes.BIGINT, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });

  // Finalization lock: present row = locked.
  await qi.createTable('sync_locks', {
    document: { ...documentName, primaryKey: true },
    lockedBy: { type: DataTypes.STRING(64), allowNull: false },
    lockedAt: { type: DataTypes.DATE, allowNull: false },
    stateVector: { type: DataTypes.BLOB, allowNull: false },
  });

  // Updates that arrived for a locked document: kept, never applied.
  await qi.createTable('sync_late_edits', {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true, allowNull: false },
    document: documentName,
    userId: { type: DataTypes.STRING(64), allowNull: false },
    userName: { type: DataTypes.STRING(200), allowNull: false },
    data: { type: DataTypes.BLOB, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('sync_late_edits', ['document', 'id'], { name: 'sync_late_edits_document' });
}
