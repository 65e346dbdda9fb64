/**
 * What a device holds of the worklist (shared/src/device-scope.ts): the studies each user follows
 * and last opened, the modalities of a user's arrival window, the indexes the scoped feed reads
 * through, and the database's epoch (a restore renews it, so devices start their feed again).
 */
import { randomUUID } from 'node:crypto';
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export const EPOCH_KEY = 'database-epoch';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  // "|CT|MR|" like studies.modalities; null: all modalities.
  await qi.addColumn('users', 'modalities', { type: DataTypes.STRING(128), allowNull: true });
  await qi.createTable('study_follows', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    studyRef: { type: DataTypes.UUID, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('study_follows', ['userId', 'studyRef'], { name: 'study_follows_user_study', unique: true });
  await qi.createTable('study_opens', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    studyRef: { type: DataTypes.UUID, allowNull: false },
    openedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('study_opens', ['userId', 'studyRef'], { name: 'study_opens_user_study', unique: true });
  await qi.addIndex('study_opens', ['userId', 'openedAt'], { name: 'study_opens_user_recent' });
  // The arrival window (status, received since) and the priors (a patient's studies by arrival).
  await qi.addIndex('studies', ['status', 'receivedAt'], { name: 'studies_status_received' });
  await qi.addIndex('studies', ['patientRef', 'receivedAt'], { name: 'studies_patient_received' });
  await qi.bulkInsert('app_state', [{ key: EPOCH_KEY, value: randomUUID(), updatedAt: new Date() }]);
}
