/** Models over migrations 0004 and 0005: orders from the hospital, the HL7 messages that carried them, results to send back. */
import type { OrderStatus, StudyPriority } from '@pacs/shared';
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import { type Row, sequenceType, type Timestamps } from './types';

export interface OrderAttributes extends Timestamps {
  id: string;
  patientRef: string;
  studyRef: string | null;
  placerNamespace: string;
  placerOrderNumber: string;
  fillerOrderNumber: string;
  accessionNumber: string;
  status: OrderStatus;
  priority: StudyPriority;
  procedureCode: string;
  procedureText: string;
  modality: string;
  scheduledAt: Date | null;
  scheduledStationAet: string;
  orderingPhysician: string;
  /** ORC-12.1 (or OBR-16.1): links the order to a referrer account. */
  orderingPhysicianId: string;
  referringPhysician: string;
  reasonForExam: string;
  clinicalHistory: string | null;
  version: number;
}
export type OrderRow = Row<OrderAttributes, 'id' | 'studyRef' | 'version' | 'orderingPhysicianId' | keyof Timestamps>;

export type Hl7Direction = 'in' | 'out';
export type Hl7Outcome = 'accepted' | 'error' | 'rejected' | 'duplicate';

export interface Hl7MessageAttributes {
  id: string;
  direction: Hl7Direction;
  dedupKey: string;
  controlId: string;
  sendingApplication: string;
  sendingFacility: string;
  messageType: string;
  peerAddress: string;
  charset: string;
  text: string;
  outcome: Hl7Outcome;
  ackCode: string;
  ackText: string;
  ack: string;
  receivedAt: Date;
}
export type Hl7MessageRow = Row<Hl7MessageAttributes, 'id'>;

export type OutboxStatus = 'pending' | 'sent' | 'dead';

export interface OutboxAttributes {
  id: number;
  destination: string;
  patientKey: string;
  reportId: string;
  controlId: string;
  messageType: string;
  text: string;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: Date;
  claimedUntil: Date | null;
  lastError: string;
  ackCode: string;
  createdAt: Date;
  sentAt: Date | null;
}
export type OutboxRow = Row<OutboxAttributes, 'id' | 'attempts' | 'claimedUntil' | 'lastError' | 'ackCode' | 'createdAt' | 'sentAt'>;

const uuidPk = { id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 } };

export interface OrderModels {
  Order: ModelStatic<OrderRow>;
  Hl7Message: ModelStatic<Hl7MessageRow>;
  Outbox: ModelStatic<OutboxRow>;
}

export function defineOrderModels(sequelize: Sequelize): OrderModels {
  const Order = sequelize.define<OrderRow>(
    'Order',
    {
      ...uuidPk,
      patientRef: { type: DataTypes.UUID, allowNull: false },
      studyRef: { type: DataTypes.UUID, allowNull: true },
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
      orderingPhysicianId: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      referringPhysician: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
      reasonForExam: { type: DataTypes.STRING(1024), allowNull: false, defaultValue: '' },
      clinicalHistory: { type: DataTypes.TEXT, allowNull: true },
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'orders' },
  );

  const Hl7Message = sequelize.define<Hl7MessageRow>(
    'Hl7Message',
    {
      ...uuidPk,
      direction: { type: DataTypes.STRING(3), allowNull: false },
      dedupKey: { type: DataTypes.STRING(400), allowNull: false },
      controlId: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      sendingApplication: { type: DataTypes.STRING(180), allowNull: false, defaultValue: '' },
      sendingFacility: { type: DataTypes.STRING(180), allowNull: false, defaultValue: '' },
      messageType: { type: DataTypes.STRING(20), allowNull: false, defaultValue: '' },
      peerAddress: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      charset: { type: DataTypes.STRING(32), allowNull: false },
      text: { type: DataTypes.TEXT, allowNull: false },
      outcome: { type: DataTypes.STRING(16), allowNull: false },
      ackCode: { type: DataTypes.STRING(2), allowNull: false },
      ackText: { type: DataTypes.STRING(400), allowNull: false, defaultValue: '' },
      ack: { type: DataTypes.TEXT, allowNull: false },
      receivedAt: { type: DataTypes.DATE, allowNull: false },
    },
    { tableName: 'hl7_messages', timestamps: false },
  );
  const Outbox = sequelize.define<OutboxRow>(
    'Outbox',
    {
      id: { type: sequenceType(sequelize), primaryKey: true, autoIncrement: true },
      destination: { type: DataTypes.STRING(64), allowNull: false },
      patientKey: { type: DataTypes.STRING(140), allowNull: false },
      reportId: { type: DataTypes.UUID, allowNull: false },
      controlId: { type: DataTypes.STRING(64), allowNull: false },
      messageType: { type: DataTypes.STRING(20), allowNull: false },
      text: { type: DataTypes.TEXT, allowNull: false },
      status: { type: DataTypes.STRING(10), allowNull: false },
      attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      nextAttemptAt: { type: DataTypes.DATE, allowNull: false },
      claimedUntil: { type: DataTypes.DATE, allowNull: true },
      lastError: { type: DataTypes.STRING(400), allowNull: false, defaultValue: '' },
      ackCode: { type: DataTypes.STRING(2), allowNull: false, defaultValue: '' },
      createdAt: DataTypes.DATE,
      sentAt: { type: DataTypes.DATE, allowNull: true },
    },
    { tableName: 'hl7_outbox', updatedAt: false },
  );
  return { Order, Hl7Message, Outbox };
}
