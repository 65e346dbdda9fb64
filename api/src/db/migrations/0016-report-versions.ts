/**
 * Report versions: what the document held at each submit, return and final signature, kept
 * unchanged (model hooks refuse updates and deletes), so the resident's preliminary text survives
 * the attending's edits and a report's history can be read and compared.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.createTable('report_versions', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    reportId: { type: DataTypes.UUID, allowNull: false },
    sequence: { type: DataTypes.INTEGER, allowNull: false },
    event: { type: DataTypes.STRING(16), allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false },
    contentJson: { type: DataTypes.TEXT, allowNull: false },
    contentText: { type: DataTypes.TEXT, allowNull: false },
    yjsState: { type: DataTypes.TEXT, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: false },
    userName: { type: DataTypes.STRING(200), allowNull: false },
    createdAt: { type: DataTypes.DATE, allowNull: false },
  });
  // One number per version of a report: two writers racing for the same number fail, not both win.
  await qi.addIndex('report_versions', ['reportId', 'sequence'], { name: 'report_versions_report_sequence', unique: true });
}
