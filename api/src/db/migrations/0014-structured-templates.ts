/**
 * Structured templates: a template may name the procedure codes (an order's OBR-4.1) it is made
 * for, comma-separated like its modalities; fill-in fields and codes live in the sections JSON.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.addColumn('report_templates', 'procedureCodes', { type: DataTypes.STRING(1400), allowNull: false, defaultValue: '' });
}
