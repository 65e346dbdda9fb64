/**
 * Where each device's offline read record stands: the last entry the server accepted (number and
 * hash), and, when an upload failed the chain check, when and why, until an admin acknowledges it.
 * One row per device id (a device id already belongs to one user).
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.createTable('offline_audit_chains', {
    deviceId: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    lastSeq: { type: DataTypes.INTEGER, allowNull: false },
    lastHash: { type: DataTypes.STRING(64), allowNull: false },
    /** After an acknowledged break: the next upload starts the chain wherever it is. */
    restartAllowed: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    brokenAt: { type: DataTypes.DATE, allowNull: true },
    brokenReason: { type: DataTypes.STRING(200), allowNull: true },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  // The system status lists the open alarms.
  await qi.addIndex('offline_audit_chains', ['brokenAt'], { name: 'offline_audit_chains_broken' });
}
