/**
 * Who wrote what (AUTHOR-*): which user each Yjs client id of a document belongs to, and the item
 * ranges each user deleted or delivered under another user's client id. Kept apart from the update log so compaction, which folds the log into one
 * snapshot, keeps them. No unique key on (document, clientId): two instances may both store a
 * binding (SCALE-3), and the first row by id is the binding; compaction drops the duplicates.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

const documentName = { type: DataTypes.STRING(200), allowNull: false };

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.createTable('sync_authors', {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true, allowNull: false },
    document: documentName,
    // Yjs client ids are unsigned 32-bit numbers.
    clientId: { type: DataTypes.BIGINT, allowNull: false },
    userId: { type: DataTypes.STRING(64), allowNull: false },
    userName: { type: DataTypes.STRING(200), allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('sync_authors', ['document', 'id'], { name: 'sync_authors_document' });

  // Item ranges (a Yjs delete set encoded as a snapshot without state vector) per user, kind
  // ('deleted' | 'relayed') and write; compaction merges them to one row per user and kind.
  await qi.createTable('sync_edit_ranges', {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true, allowNull: false },
    document: documentName,
    kind: { type: DataTypes.STRING(16), allowNull: false },
    userId: { type: DataTypes.STRING(64), allowNull: false },
    userName: { type: DataTypes.STRING(200), allowNull: false },
    ranges: { type: DataTypes.BLOB, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('sync_edit_ranges', ['document', 'id'], { name: 'sync_edit_ranges_document' });
}
