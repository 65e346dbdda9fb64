/**
 * Initial schema. Only types SQLite, PostgreSQL and SQL Server share; UIDs are VARCHAR(64) (the
 * DICOM UI maximum) with unique keys; soft delete (deletedAt) on patients, studies and reports.
 */

import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes, type QueryInterface } from 'sequelize';
import { sequenceType } from '../types';

const timestamps = {
  createdAt: { type: DataTypes.DATE, allowNull: false },
  updatedAt: { type: DataTypes.DATE, allowNull: false },
};
const softDelete = { deletedAt: { type: DataTypes.DATE, allowNull: true } };
const uuidPk = { id: { type: DataTypes.UUID, primaryKey: true, allowNull: false } };

export async function up({ context: { queryInterface: qi, sequelize } }: MigrationContext): Promise<void> {
  await qi.createTable('users', {
    ...uuidPk,
    email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
    name: { type: DataTypes.STRING(200), allowNull: false },
    role: { type: DataTypes.STRING(20), allowNull: false },
    passwordHash: { type: DataTypes.STRING(100), allowNull: false },
    active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
    failedLoginCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    lockedUntil: { type: DataTypes.DATE, allowNull: true },
    passwordChangedAt: { type: DataTypes.DATE, allowNull: false },
    ...timestamps,
  });

  await qi.createTable('refresh_tokens', {
    ...uuidPk,
    userId: { type: DataTypes.UUID, allowNull: false, references: { model: 'users', key: 'id' } },
    familyId: { type: DataTypes.UUID, allowNull: false },
    tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    expiresAt: { type: DataTypes.DATE, allowNull: false },
    usedAt: { type: DataTypes.DATE, allowNull: true },
    revokedAt: { type: DataTypes.DATE, allowNull: true },
    revokedReason: { type: DataTypes.STRING(40), allowNull: true },
    ...timestamps,
  });
  await qi.addIndex('refresh_tokens', ['familyId'], { name: 'refresh_tokens_family' });
  await qi.addIndex('refresh_tokens', ['userId'], { name: 'refresh_tokens_user' });

  await qi.createTable('patients', {
    ...uuidPk,
    patientId: { type: DataTypes.STRING(64), allowNull: false },
    issuerOfPatientId: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    name: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
    birthDate: { type: DataTypes.STRING(8), allowNull: true },
    sex: { type: DataTypes.STRING(16), allowNull: true },
    ...timestamps,
    ...softDelete,
  });
  await qi.addIndex('patients', ['patientId', 'issuerOfPatientId'], { name: 'patients_identifier', unique: true });

  await qi.createTable('studies', {
    ...uuidPk,
    studyInstanceUid: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    orthancId: { type: DataTypes.STRING(64), allowNull: true, unique: true },
    patientRef: { type: DataTypes.UUID, allowNull: false, references: { model: 'patients', key: 'id' } },
    // Denormalised from the patient so the worklist filters and sorts on one table.
    patientName: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
    patientId: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    accessionNumber: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    studyDate: { type: DataTypes.STRING(8), allowNull: true },
    studyTime: { type: DataTypes.STRING(16), allowNull: true },
    description: { type: DataTypes.STRING(256), allowNull: false, defaultValue: '' },
    modalities: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    bodyPart: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    referringPhysician: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
    /** Lower-cased, accent-folded patient name, patient id, accession and description. */
    searchText: { type: DataTypes.STRING(1024), allowNull: false, defaultValue: '' },
    numberOfSeries: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    numberOfInstances: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    status: { type: DataTypes.STRING(20), allowNull: false, defaultValue: 'unread' },
    priority: { type: DataTypes.STRING(10), allowNull: false, defaultValue: 'routine' },
    priorityRank: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 2 },
    assigneeId: { type: DataTypes.UUID, allowNull: true, references: { model: 'users', key: 'id' } },
    /** Set when a later stable event added series after the study was first listed. */
    updatedAfterArrival: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    receivedAt: { type: DataTypes.DATE, allowNull: false },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    ...timestamps,
    ...softDelete,
  });
  // The worklist's default order (priority, then oldest first) and its common filters.
  await qi.addIndex('studies', ['priorityRank', 'receivedAt', 'id'], { name: 'studies_worklist_default' });
  await qi.addIndex('studies', ['status', 'priorityRank', 'receivedAt', 'id'], { name: 'studies_worklist_status' });
  await qi.addIndex('studies', ['assigneeId', 'priorityRank', 'receivedAt', 'id'], { name: 'studies_worklist_assignee' });
  await qi.addIndex('studies', ['studyDate'], { name: 'studies_study_date' });
  await qi.addIndex('studies', ['modalities'], { name: 'studies_modalities' });
  await qi.addIndex('studies', ['patientId'], { name: 'studies_patient_id' });
  await qi.addIndex('studies', ['accessionNumber'], { name: 'studies_accession' });
  await qi.addIndex('studies', ['patientRef'], { name: 'studies_patient_ref' });
  await qi.addIndex('studies', ['updatedAt', 'id'], { name: 'studies_changes' });

  await qi.createTable('series', {
    ...uuidPk,
    seriesInstanceUid: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    orthancId: { type: DataTypes.STRING(64), allowNull: true, unique: true },
    studyRef: { type: DataTypes.UUID, allowNull: false, references: { model: 'studies', key: 'id' } },
    modality: { type: DataTypes.STRING(16), allowNull: false, defaultValue: '' },
    seriesNumber: { type: DataTypes.INTEGER, allowNull: true },
    description: { type: DataTypes.STRING(256), allowNull: false, defaultValue: '' },
    bodyPart: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    numberOfInstances: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    ...timestamps,
  });
  await qi.addIndex('series', ['studyRef'], { name: 'series_study' });

  await qi.createTable('instances', {
    ...uuidPk,
    sopInstanceUid: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    orthancId: { type: DataTypes.STRING(64), allowNull: true, unique: true },
    seriesRef: { type: DataTypes.UUID, allowNull: false, references: { model: 'series', key: 'id' } },
    sopClassUid: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    instanceNumber: { type: DataTypes.INTEGER, allowNull: true },
    numberOfFrames: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    transferSyntaxUid: { type: DataTypes.STRING(64), allowNull: true },
    ...timestamps,
  });
  await qi.addIndex('instances', ['seriesRef'], { name: 'instances_series' });

  await qi.createTable('reports', {
    ...uuidPk,
    studyRef: { type: DataTypes.UUID, allowNull: false, references: { model: 'studies', key: 'id' } },
    /** Null for the study's report; the original report's id for an addendum. */
    parentReportId: { type: DataTypes.UUID, allowNull: true, references: { model: 'reports', key: 'id' } },
    status: { type: DataTypes.STRING(20), allowNull: false, defaultValue: 'draft' },
    authorId: { type: DataTypes.UUID, allowNull: false, references: { model: 'users', key: 'id' } },
    preliminarySignerId: { type: DataTypes.UUID, allowNull: true, references: { model: 'users', key: 'id' } },
    preliminarySignedAt: { type: DataTypes.DATE, allowNull: true },
    finalSignerId: { type: DataTypes.UUID, allowNull: true, references: { model: 'users', key: 'id' } },
    finalSignedAt: { type: DataTypes.DATE, allowNull: true },
    returnComment: { type: DataTypes.TEXT, allowNull: true },
    contentJson: { type: DataTypes.TEXT, allowNull: true },
    contentText: { type: DataTypes.TEXT, allowNull: true },
    contentHash: { type: DataTypes.STRING(64), allowNull: true },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    ...timestamps,
    ...softDelete,
  });
  await qi.addIndex('reports', ['studyRef'], { name: 'reports_study' });
  await qi.addIndex('reports', ['parentReportId'], { name: 'reports_parent' });

  await qi.createTable('audit_logs', {
    id: { type: sequenceType(sequelize), primaryKey: true, autoIncrement: true, allowNull: false },
    eventId: { type: DataTypes.STRING(40), allowNull: false },
    action: { type: DataTypes.STRING(1), allowNull: false },
    outcome: { type: DataTypes.INTEGER, allowNull: false },
    eventDateTime: { type: DataTypes.DATE, allowNull: false },
    userId: { type: DataTypes.UUID, allowNull: true },
    userRole: { type: DataTypes.STRING(20), allowNull: true },
    networkAddress: { type: DataTypes.STRING(64), allowNull: true },
    objectType: { type: DataTypes.STRING(40), allowNull: true },
    objectId: { type: DataTypes.STRING(128), allowNull: true },
    patientId: { type: DataTypes.STRING(64), allowNull: true },
    studyUid: { type: DataTypes.STRING(64), allowNull: true },
    requestId: { type: DataTypes.STRING(64), allowNull: true },
    details: { type: DataTypes.TEXT, allowNull: true },
  });
  await qi.addIndex('audit_logs', ['eventDateTime'], { name: 'audit_logs_time' });
  await qi.addIndex('audit_logs', ['userId', 'id'], { name: 'audit_logs_user' });
  await qi.addIndex('audit_logs', ['patientId', 'id'], { name: 'audit_logs_patient' });
  await qi.addIndex('audit_logs', ['studyUid', 'id'], { name: 'audit_logs_study' });
  await qi.addIndex('audit_logs', ['eventId', 'id'], { name: 'audit_logs_event' });
  await preventAuditChanges(qi, sequelize.getDialect());
}

/**
 * Append-only audit trail, enforced by the database too: the ORM refuses updates and deletes,
 * and a trigger refuses them from any other client.
 */
async function preventAuditChanges(qi: QueryInterface, dialect: string): Promise<void> {
  const q = (sql: string) => qi.sequelize.query(sql);
  if (dialect === 'sqlite') {
    await q(`CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only'); END`);
    await q(`CREATE TRIGGER audit_logs_no_delete BEFORE DELETE ON audit_logs BEGIN SELECT RAISE(ABORT, 'audit_logs is append-only'); END`);
  } else if (dialect === 'postgres') {
    await q(
      `CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit_logs is append-only'; END; $$ LANGUAGE plpgsql`,
    );
    await q(
      `CREATE TRIGGER audit_logs_no_change BEFORE UPDATE OR DELETE ON audit_logs FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only()`,
    );
  } else if (dialect === 'mssql') {
    await q(
      `CREATE TRIGGER audit_logs_no_change ON audit_logs INSTEAD OF UPDATE, DELETE AS BEGIN THROW 50000, 'audit_logs is append-only', 1; END`,
    );
  }
}
