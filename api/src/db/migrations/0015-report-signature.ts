/**
 * The installation's Ed25519 signature of each signed report (and addendum) beside its content hash:
 * the signature (base64) and the id of the key that made it. The keys themselves never enter the
 * database: the private key lives in the API's settings, earlier public keys in a file beside it.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.addColumn('reports', 'signature', { type: DataTypes.STRING(100), allowNull: true });
  await qi.addColumn('reports', 'signatureKeyId', { type: DataTypes.STRING(32), allowNull: true });
}
