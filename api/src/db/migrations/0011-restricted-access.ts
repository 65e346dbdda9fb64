/**
 * Restricted patients and emergency access: a study is restricted on its own row (by an admin, its
 * order or its DICOM confidentiality tags) or through its patient (by an admin); emergency access
 * windows open one patient to one user for a while, with the reason and the privacy officer's review.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.addColumn('studies', 'restricted', { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false });
  await qi.addColumn('studies', 'restrictionSource', { type: DataTypes.STRING(8), allowNull: true });
  await qi.createTable('restricted_patients', {
    patientRef: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    source: { type: DataTypes.STRING(8), allowNull: false },
    restrictedBy: { type: DataTypes.UUID, allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.createTable('emergency_access_windows', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    patientRef: { type: DataTypes.UUID, allowNull: false },
    studyRef: { type: DataTypes.UUID, allowNull: false },
    reason: { type: DataTypes.TEXT, allowNull: false },
    openedAt: { type: DataTypes.DATE, allowNull: false },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    closedAt: { type: DataTypes.DATE, allowNull: true },
    closedBy: { type: DataTypes.STRING(8), allowNull: true },
    reviewStatus: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'pending' },
    reviewedBy: { type: DataTypes.UUID, allowNull: true },
    reviewedAt: { type: DataTypes.DATE, allowNull: true },
    reviewNote: { type: DataTypes.TEXT, allowNull: true },
  });
  await qi.addIndex('emergency_access_windows', ['userId', 'patientRef', 'closedAt'], { name: 'emergency_access_user_patient' });
  await qi.addIndex('emergency_access_windows', ['closedAt', 'expiresAt'], { name: 'emergency_access_open' });
  await qi.addIndex('emergency_access_windows', ['reviewStatus', 'openedAt'], { name: 'emergency_access_review' });
}
