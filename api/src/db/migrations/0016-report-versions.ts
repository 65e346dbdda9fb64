/**
 * Report versions: what the document held at each submit, return and final signature, kept
 * unchanged (model hooks refuse updates and deletes), so the resident's preliminary text survives
 * the attending's edits and a report's history can be read and compared.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes, type QueryInterface } from 'sequelize';

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
  await preventVersionChanges(qi, qi.sequelize.getDialect());
}

/** Like the audit trail: the ORM refuses updates and deletes, and a trigger refuses them from any other client. */
async function preventVersionChanges(qi: QueryInterface, dialect: string): Promise<void> {
  const q = (sql: string) => qi.sequelize.query(sql);
  if (dialect === 'sqlite') {
    await q(
      `CREATE TRIGGER report_versions_no_update BEFORE UPDATE ON report_versions BEGIN SELECT RAISE(ABORT, 'report_versions is append-only'); END`,
    );
    await q(
      `CREATE TRIGGER report_versions_no_delete BEFORE DELETE ON report_versions BEGIN SELECT RAISE(ABORT, 'report_versions is append-only'); END`,
    );
  } else if (dialect === 'postgres') {
    await q(
      `CREATE OR REPLACE FUNCTION report_versions_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'report_versions is append-only'; END; $$ LANGUAGE plpgsql`,
    );
    await q(
      `CREATE TRIGGER report_versions_no_change BEFORE UPDATE OR DELETE ON report_versions FOR EACH ROW EXECUTE FUNCTION report_versions_append_only()`,
    );
  } else if (dialect === 'mssql') {
    await q(
      `CREATE TRIGGER report_versions_no_change ON report_versions INSTEAD OF UPDATE, DELETE AS BEGIN THROW 50000, 'report_versions is append-only', 1; END`,
    );
  }
}
