/**
 * Devices a user signs in from: the web app's own identity (an id, and a secret kept as SHA-256),
 * a label from the User-Agent, when it was last seen, the patient data it reports holding offline,
 * and, once revoked, who revoked it and the wipe it reported. Refresh tokens name the device their
 * session started on, so revoking a device ends its sessions.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  // A new object per column: Sequelize writes each attribute's field name into its definition.
  const count = () => ({ type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 });
  await qi.createTable('devices', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    secretHash: { type: DataTypes.STRING(64), allowNull: false },
    userAgent: { type: DataTypes.STRING(100), allowNull: false, defaultValue: '' },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    lastSeenAt: { type: DataTypes.DATE, allowNull: false },
    studiesHeld: count(),
    reportsHeld: count(),
    worklistRowsHeld: count(),
    holdingsReportedAt: { type: DataTypes.DATE, allowNull: true },
    revokedAt: { type: DataTypes.DATE, allowNull: true },
    revokedBy: { type: DataTypes.UUID, allowNull: true },
    wipedAt: { type: DataTypes.DATE, allowNull: true },
    wipeReport: { type: DataTypes.TEXT, allowNull: true },
  });
  await qi.addIndex('devices', ['userId'], { name: 'devices_user' });
  // One physical device (one secret) may be registered once per user who signs in on it.
  await qi.addIndex('devices', ['secretHash'], { name: 'devices_secret' });
  await qi.addColumn('refresh_tokens', 'deviceId', { type: DataTypes.UUID, allowNull: true });
  await qi.addIndex('refresh_tokens', ['deviceId'], { name: 'refresh_tokens_device' });
}
