/**
 * Critical results: the flag on a report, its clock and who acknowledged it, plus an append-only
 * communication record (every notification, escalation and acknowledgement). Referrer accounts are
 * linked to the hospital's provider id, and orders keep the ordering physician's id (ORC-12.1), so
 * a result finds its recipient by id, never by a name that two physicians may share.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';
import { sequenceType } from '../types';

export async function up({ context: { queryInterface: qi, sequelize } }: MigrationContext): Promise<void> {
  await qi.addColumn('users', 'providerId', { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' });
  await qi.addIndex('users', ['providerId'], { name: 'users_provider' });
  await qi.addColumn('orders', 'orderingPhysicianId', { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' });

  await qi.createTable('critical_results', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    /** The device's id for the flag (the server's own id when none was given): a replayed flag is recorded once. */
    clientId: { type: DataTypes.UUID, allowNull: false },
    reportId: { type: DataTypes.UUID, allowNull: false },
    studyRef: { type: DataTypes.UUID, allowNull: false },
    patientRef: { type: DataTypes.UUID, allowNull: false },
    category: { type: DataTypes.STRING(10), allowNull: false },
    message: { type: DataTypes.STRING(2000), allowNull: false },
    /** `open`, `acknowledged` or `withdrawn`. */
    status: { type: DataTypes.STRING(12), allowNull: false },
    flaggedById: { type: DataTypes.UUID, allowNull: false },
    flaggedByName: { type: DataTypes.STRING(200), allowNull: false },
    /** The attending escalation goes to first (the flagging attending, or the study's). */
    attendingId: { type: DataTypes.UUID, allowNull: true },
    raisedAt: { type: DataTypes.DATE, allowNull: true },
    flaggedAt: { type: DataTypes.DATE, allowNull: false },
    dueAt: { type: DataTypes.DATE, allowNull: false },
    /** 0 ordering physician, 1 attending, 2 department. */
    level: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    nextEscalationAt: { type: DataTypes.DATE, allowNull: true },
    /** The ordering physician's provider id: every referrer account linked to it sees the result. */
    recipientProviderId: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    recipientName: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
    acknowledgedById: { type: DataTypes.UUID, allowNull: true },
    acknowledgedByName: { type: DataTypes.STRING(200), allowNull: false, defaultValue: '' },
    acknowledgedAt: { type: DataTypes.DATE, allowNull: true },
    ackChannel: { type: DataTypes.STRING(20), allowNull: true },
    receivedBy: { type: DataTypes.STRING(200), allowNull: false, defaultValue: '' },
    readBack: { type: DataTypes.BOOLEAN, allowNull: true },
    closeNote: { type: DataTypes.STRING(1000), allowNull: false, defaultValue: '' },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('critical_results', ['clientId'], { name: 'critical_results_client', unique: true });
  await qi.addIndex('critical_results', ['reportId'], { name: 'critical_results_report' });
  await qi.addIndex('critical_results', ['status', 'nextEscalationAt'], { name: 'critical_results_due' });
  await qi.addIndex('critical_results', ['recipientProviderId', 'flaggedAt'], { name: 'critical_results_recipient' });
  await qi.addIndex('critical_results', ['status', 'flaggedAt'], { name: 'critical_results_open' });

  await qi.createTable('critical_result_events', {
    id: { type: sequenceType(sequelize), primaryKey: true, autoIncrement: true, allowNull: false },
    criticalResultId: { type: DataTypes.UUID, allowNull: false },
    at: { type: DataTypes.DATE, allowNull: false },
    kind: { type: DataTypes.STRING(16), allowNull: false },
    channel: { type: DataTypes.STRING(16), allowNull: false, defaultValue: '' },
    level: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    target: { type: DataTypes.STRING(254), allowNull: false, defaultValue: '' },
    actorId: { type: DataTypes.UUID, allowNull: true },
    actorName: { type: DataTypes.STRING(200), allowNull: false, defaultValue: '' },
    detail: { type: DataTypes.STRING(400), allowNull: false, defaultValue: '' },
  });
  await qi.addIndex('critical_result_events', ['criticalResultId', 'id'], { name: 'critical_result_events_result' });
}
