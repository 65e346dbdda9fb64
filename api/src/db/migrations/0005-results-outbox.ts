/**
 * The results outbox: HL7 messages (ORU^R01) to send to the hospital, written in the same
 * transaction as the signature they report, sent in order per patient by a dispatcher, retried with
 * back-off, and kept as `dead` for an admin to resend when they cannot be delivered.
 * `claimedUntil` lets several API instances share the outbox: a row is sent by the instance that
 * claimed it, and a claim left by a crashed instance runs out.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';
import { sequenceType } from '../types';

export async function up({ context: { queryInterface: qi, sequelize } }: MigrationContext): Promise<void> {
  await qi.createTable('hl7_outbox', {
    id: { type: sequenceType(sequelize), primaryKey: true, autoIncrement: true, allowNull: false },
    /** The configured destination's name (MSH-5). */
    destination: { type: DataTypes.STRING(64), allowNull: false },
    /** Messages for one patient leave in the order they were written; others do not wait for them. */
    patientKey: { type: DataTypes.STRING(140), allowNull: false },
    reportId: { type: DataTypes.UUID, allowNull: false },
    controlId: { type: DataTypes.STRING(64), allowNull: false },
    messageType: { type: DataTypes.STRING(20), allowNull: false },
    text: { type: DataTypes.TEXT, allowNull: false },
    /** `pending`, `sent` or `dead`. */
    status: { type: DataTypes.STRING(10), allowNull: false },
    attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    nextAttemptAt: { type: DataTypes.DATE, allowNull: false },
    claimedUntil: { type: DataTypes.DATE, allowNull: true },
    lastError: { type: DataTypes.STRING(400), allowNull: false, defaultValue: '' },
    ackCode: { type: DataTypes.STRING(2), allowNull: false, defaultValue: '' },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    sentAt: { type: DataTypes.DATE, allowNull: true },
  });
  await qi.addIndex('hl7_outbox', ['status', 'destination', 'id'], { name: 'hl7_outbox_queue' });
  await qi.addIndex('hl7_outbox', ['controlId'], { name: 'hl7_outbox_control', unique: true });
  await qi.addIndex('hl7_outbox', ['reportId'], { name: 'hl7_outbox_report' });
}
