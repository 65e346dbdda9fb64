/**
 * Reporting: templates, signatures, the signed Yjs state, the finalize claim, and "one primary
 * report per study" as a unique key.
 *
 * `reports.primarySlot` is the study id for the study's primary report and the report's own id for
 * an addendum, so a plain unique index says "one primary report per study" on every dialect. It is
 * never NULL (written by the API, backfilled here), which matters on SQL Server: there a unique
 * index admits only one NULL, so a unique index over `parentReportId`-style nullable columns would
 * not express the rule there.
 */
import { randomUUID } from 'node:crypto';
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';
import { BUILT_IN_TEMPLATES } from './0003-reporting.templates';

export async function up({ context: { queryInterface: qi, sequelize } }: MigrationContext): Promise<void> {
  await qi.createTable('report_templates', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    name: { type: DataTypes.STRING(120), allowNull: false },
    /** Comma-separated modality codes, e.g. `CR,DX`. */
    modalities: { type: DataTypes.STRING(64), allowNull: false },
    bodyPart: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    /** JSON array of TemplateSection. */
    sections: { type: DataTypes.TEXT, allowNull: false },
    builtIn: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    retiredAt: { type: DataTypes.DATE, allowNull: true },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });

  const columns: [string, Parameters<typeof qi.addColumn>[2]][] = [
    ['primarySlot', { type: DataTypes.STRING(36), allowNull: true }],
    ['templateId', { type: DataTypes.UUID, allowNull: true }],
    ['preliminarySignerName', { type: DataTypes.STRING(200), allowNull: true }],
    ['finalSignerName', { type: DataTypes.STRING(200), allowNull: true }],
    ['finalAttestation', { type: DataTypes.STRING(400), allowNull: true }],
    /** base64 Y.encodeStateAsUpdate of the locked document, as the sync-server returned it. */
    ['finalUpdate', { type: DataTypes.TEXT, allowNull: true }],
    ['finalStateVector', { type: DataTypes.TEXT, allowNull: true }],
    ['returnedById', { type: DataTypes.UUID, allowNull: true }],
    ['returnedAt', { type: DataTypes.DATE, allowNull: true }],
    /** Finalize in progress (claim): who and since when; cleared when it ends either way. */
    ['finalizingBy', { type: DataTypes.UUID, allowNull: true }],
    ['finalizingAt', { type: DataTypes.DATE, allowNull: true }],
  ];
  for (const [name, spec] of columns) await qi.addColumn('reports', name, spec);
  const q = (name: string) => (sequelize.getDialect() === 'mssql' ? `[${name}]` : `"${name}"`);
  const reports = q('reports');
  await sequelize.query(
    `UPDATE ${reports} SET ${q('primarySlot')} = CASE WHEN ${q('parentReportId')} IS NULL THEN ${q('studyRef')} ELSE ${q('id')} END`,
  );
  await qi.addIndex('reports', ['primarySlot'], { name: 'reports_primary_slot', unique: true });

  const now = new Date();
  await qi.bulkInsert(
    'report_templates',
    BUILT_IN_TEMPLATES.map((t) => ({
      id: randomUUID(),
      name: t.name,
      modalities: t.modalities.join(','),
      bodyPart: t.bodyPart,
      sections: JSON.stringify(t.sections),
      builtIn: true,
      retiredAt: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    })),
  );
}
