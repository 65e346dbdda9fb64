/**
 * Orders from the hospital and the HL7 messages that carried them.
 * - `orders`: one requested procedure; its scheduled worklist entry is a `studies` row with status
 *   `scheduled` (`studyRef`), which becomes the study when the images arrive.
 * - `hl7_messages`: every message received (and, later, sent) as text, with its outcome and the
 *   acknowledgement answered, so a repeated message gets the same answer and changes nothing.
 *   `dedupKey` is never NULL (a unique index on SQL Server admits one NULL only): sender and
 *   control id for a readable message, the row's own id for one that is not, or a repeat.
 * - `studies.orderRef` and `studies.indication`: the order behind a worklist row and why it was
 *   ordered, kept beside the row so the worklist shows it without a join.
 * - `studies.orderMatch`: `matched` (the row has its order), `unmatched` (images came without one
 *   where orders are received: a person reconciles it), `unordered` (a person confirmed it needs none);
 *   empty where no orders are received.
 */
import type { MigrationContext } from '@pacs/server-kit/database';
import { DataTypes } from 'sequelize';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.createTable('orders', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    patientRef: { type: DataTypes.UUID, allowNull: false, references: { model: 'patients', key: 'id' } },
    studyRef: { type: DataTypes.UUID, allowNull: true, references: { model: 'studies', key: 'id' } },
    /** Who placed the order (MSH-3 sending application, or ORC-2's namespace) and its number there. */
    placerNamespace: { type: DataTypes.STRING(64), allowNull: false },
    placerOrderNumber: { type: DataTypes.STRING(64), allowNull: false },
    fillerOrderNumber: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    accessionNumber: { type: DataTypes.STRING(64), allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false },
    priority: { type: DataTypes.STRING(10), allowNull: false, defaultValue: 'routine' },
    procedureCode: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    procedureText: { type: DataTypes.STRING(256), allowNull: false, defaultValue: '' },
    modality: { type: DataTypes.STRING(16), allowNull: false, defaultValue: '' },
    scheduledAt: { type: DataTypes.DATE, allowNull: true },
    scheduledStationAet: { type: DataTypes.STRING(16), allowNull: false, defaultValue: '' },
    orderingPhysician: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
    referringPhysician: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
    reasonForExam: { type: DataTypes.STRING(1024), allowNull: false, defaultValue: '' },
    clinicalHistory: { type: DataTypes.TEXT, allowNull: true },
    version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    createdAt: { type: DataTypes.DATE, allowNull: false },
    updatedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('orders', ['placerNamespace', 'placerOrderNumber'], { name: 'orders_placer', unique: true });
  await qi.addIndex('orders', ['accessionNumber'], { name: 'orders_accession' });
  await qi.addIndex('orders', ['patientRef'], { name: 'orders_patient' });
  await qi.addIndex('orders', ['status', 'scheduledAt'], { name: 'orders_pending' });

  await qi.createTable('hl7_messages', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    /** `in` received, `out` sent. */
    direction: { type: DataTypes.STRING(3), allowNull: false },
    dedupKey: { type: DataTypes.STRING(400), allowNull: false },
    controlId: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    sendingApplication: { type: DataTypes.STRING(180), allowNull: false, defaultValue: '' },
    sendingFacility: { type: DataTypes.STRING(180), allowNull: false, defaultValue: '' },
    messageType: { type: DataTypes.STRING(20), allowNull: false, defaultValue: '' },
    peerAddress: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
    /** The character set the bytes were read in (MSH-18, or the fallback). */
    charset: { type: DataTypes.STRING(32), allowNull: false },
    text: { type: DataTypes.TEXT, allowNull: false },
    /** `accepted`, `error` (AE), `rejected` (AR) or `duplicate`. */
    outcome: { type: DataTypes.STRING(16), allowNull: false },
    ackCode: { type: DataTypes.STRING(2), allowNull: false },
    ackText: { type: DataTypes.STRING(400), allowNull: false, defaultValue: '' },
    ack: { type: DataTypes.TEXT, allowNull: false },
    receivedAt: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex('hl7_messages', ['dedupKey'], { name: 'hl7_messages_dedup', unique: true });
  await qi.addIndex('hl7_messages', ['receivedAt'], { name: 'hl7_messages_received' });

  await qi.addColumn('studies', 'orderRef', { type: DataTypes.UUID, allowNull: true });
  await qi.addColumn('studies', 'indication', { type: DataTypes.STRING(1024), allowNull: false, defaultValue: '' });
  await qi.addColumn('studies', 'orderMatch', { type: DataTypes.STRING(12), allowNull: false, defaultValue: '' });
  await qi.addIndex('studies', ['orderMatch', 'receivedAt'], { name: 'studies_order_match' });
}
