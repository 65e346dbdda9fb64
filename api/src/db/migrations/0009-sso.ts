/**
 * Single sign-on: a user may be linked to a subject at the OpenID provider (keyed by a hash of
 * issuer and subject) and wait for an admin's approval after the first sign-in; the
 * admin-editable mapping from the provider's groups to our roles; sign-ins in flight (state, nonce and PKCE verifier, each used once); and, per
 * session, the provider's tokens (sealed) that let a refresh ask the provider again.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.addColumn('users', 'approvalPending', { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false });
  // A table of its own, not a nullable unique column on users: SQL Server admits one NULL per unique key.
  await qi.createTable('sso_identities', {
    subjectKey: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false, unique: true },
    issuer: { type: DataTypes.STRING(255), allowNull: false },
    subject: { type: DataTypes.STRING(255), allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.createTable('sso_group_roles', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    groupName: { type: DataTypes.STRING(255), allowNull: false },
    role: { type: DataTypes.STRING(20), allowNull: false },
    position: { type: DataTypes.INTEGER, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('sso_group_roles', ['groupName'], { name: 'sso_group_roles_group', unique: true });
  await qi.createTable('sso_sign_ins', {
    bindingHash: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    state: { type: DataTypes.STRING(64), allowNull: false },
    nonce: { type: DataTypes.STRING(64), allowNull: false },
    codeVerifier: { type: DataTypes.STRING(128), allowNull: false },
    returnTo: { type: DataTypes.STRING(500), allowNull: false },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    usedAt: { type: DataTypes.DATE, allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('sso_sign_ins', ['expiresAt'], { name: 'sso_sign_ins_expiry' });
  await qi.createTable('sso_sessions', {
    familyId: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    refreshToken: { type: DataTypes.TEXT, allowNull: true },
    idToken: { type: DataTypes.TEXT, allowNull: false },
    accessExpiresAt: { type: DataTypes.DATE, allowNull: true },
    checkedAt: { type: DataTypes.DATE, allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('sso_sessions', ['userId'], { name: 'sso_sessions_user' });
}
