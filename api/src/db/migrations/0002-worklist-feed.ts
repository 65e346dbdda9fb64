/**
 * The worklist's delta feed and the ingestion cursor.
 * - `studies.changeSeq`: taken from the `counters` row inside the writing transaction, so the
 *   row lock orders sequence numbers exactly as transactions commit and a reader that has seen
 *   N has seen every change ≤ N (no gaps from in-flight transactions).
 * - `app_state`: small persistent key/values (the Orthanc /changes cursor, last reconcile).
 */

import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.createTable('counters', {
    name: { type: DataTypes.STRING(40), primaryKey: true, allowNull: false },
    value: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
  });
  await qi.bulkInsert('counters', [{ name: 'worklist', value: 0 }]);
  await qi.addColumn('studies', 'changeSeq', { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 });
  await qi.addIndex('studies', ['changeSeq'], { name: 'studies_change_seq' });
  // Shown on every worklist row, so kept beside the denormalised patient name.
  await qi.addColumn('studies', 'patientBirthDate', { type: DataTypes.STRING(8), allowNull: true });
  await qi.addColumn('studies', 'patientSex', { type: DataTypes.STRING(16), allowNull: true });
  await qi.createTable('app_state', {
    key: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    value: { type: DataTypes.TEXT, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
}
