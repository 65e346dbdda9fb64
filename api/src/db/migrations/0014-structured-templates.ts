/**
 * Structured templates: a template may name the procedure codes (an order's OBR-4.1) it is made
 * for, comma-separated like its modalities; fill-in fields and codes live in the sections JSON.
 * A report remembers the required fields it began with, so deleting one from the document does not
 * make it optional.
 * Personal macros: one row per macro, keyed by the id the client made; deleted ones stay as
 * tombstones so a replayed edit from an offline device cannot bring them back.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.addColumn('report_templates', 'procedureCodes', { type: DataTypes.STRING(1400), allowNull: false, defaultValue: '' });
  await qi.addColumn('reports', 'requiredFields', { type: DataTypes.TEXT, allowNull: true });
  await qi.createTable('user_macros', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    trigger: { type: DataTypes.STRING(32), allowNull: false },
    label: { type: DataTypes.STRING(120), allowNull: false },
    text: { type: DataTypes.TEXT, allowNull: false },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    deletedAt: { type: DataTypes.DATE, allowNull: true },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('user_macros', ['userId'], { name: 'user_macros_user' });
}
