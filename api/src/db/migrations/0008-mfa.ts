/**
 * A second factor for local accounts: the TOTP secret (encrypted), when it was enabled and the last
 * time step used (a code is accepted once); recovery codes (hashed, each used once); and devices
 * remembered for a while after a second factor (a hashed cookie token).
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.addColumn('users', 'mfaSecret', { type: DataTypes.STRING(255), allowNull: true });
  await qi.addColumn('users', 'mfaEnabledAt', { type: DataTypes.DATE, allowNull: true });
  await qi.addColumn('users', 'mfaLastTimeStep', { type: DataTypes.INTEGER, allowNull: true });
  await qi.createTable('mfa_recovery_codes', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    codeHash: { type: DataTypes.STRING(64), allowNull: false },
    usedAt: { type: DataTypes.DATE, allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('mfa_recovery_codes', ['userId', 'codeHash'], { name: 'mfa_recovery_codes_user' });
  await qi.createTable('mfa_devices', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    tokenHash: { type: DataTypes.STRING(64), allowNull: false },
    userAgent: { type: DataTypes.STRING(200), allowNull: false, defaultValue: '' },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('mfa_devices', ['tokenHash'], { name: 'mfa_devices_token', unique: true });
  await qi.addIndex('mfa_devices', ['userId'], { name: 'mfa_devices_user' });
}
