/** Models over migration 0007: critical results and their communication record. */
import type {
  CriticalAckChannel,
  CriticalCategory,
  CriticalEscalationLevel,
  CriticalEventChannel,
  CriticalEventKind,
  CriticalStatus,
} from '@pacs/shared';
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import { type Row, sequenceType, type Timestamps } from './types';

export interface CriticalResultAttributes extends Timestamps {
  id: string;
  clientId: string;
  reportId: string;
  studyRef: string;
  patientRef: string;
  category: CriticalCategory;
  message: string;
  status: CriticalStatus;
  flaggedById: string;
  flaggedByName: string;
  attendingId: string | null;
  raisedAt: Date | null;
  flaggedAt: Date;
  dueAt: Date;
  level: CriticalEscalationLevel;
  nextEscalationAt: Date | null;
  recipientProviderId: string;
  recipientName: string;
  acknowledgedById: string | null;
  acknowledgedByName: string;
  acknowledgedAt: Date | null;
  ackChannel: CriticalAckChannel | null;
  receivedBy: string;
  readBack: boolean | null;
  closeNote: string;
}
export type CriticalResultRow = Row<
  CriticalResultAttributes,
  | 'acknowledgedById'
  | 'acknowledgedByName'
  | 'acknowledgedAt'
  | 'ackChannel'
  | 'receivedBy'
  | 'readBack'
  | 'closeNote'
  | 'level'
  | keyof Timestamps
>;

export interface CriticalEventAttributes {
  id: number;
  criticalResultId: string;
  at: Date;
  kind: CriticalEventKind;
  channel: CriticalEventChannel;
  level: CriticalEscalationLevel;
  target: string;
  actorId: string | null;
  actorName: string;
  detail: string;
}
export type CriticalEventRow = Row<CriticalEventAttributes, 'id' | 'actorId' | 'actorName' | 'detail' | 'target' | 'channel' | 'level'>;

export interface CriticalModels {
  CriticalResult: ModelStatic<CriticalResultRow>;
  CriticalEvent: ModelStatic<CriticalEventRow>;
}

export function defineCriticalModels(sequelize: Sequelize): CriticalModels {
  const CriticalResult = sequelize.define<CriticalResultRow>(
    'CriticalResult',
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      clientId: { type: DataTypes.UUID, allowNull: false, unique: true },
      reportId: { type: DataTypes.UUID, allowNull: false },
      studyRef: { type: DataTypes.UUID, allowNull: false },
      patientRef: { type: DataTypes.UUID, allowNull: false },
      category: { type: DataTypes.STRING(10), allowNull: false },
      message: { type: DataTypes.STRING(2000), allowNull: false },
      status: { type: DataTypes.STRING(12), allowNull: false },
      flaggedById: { type: DataTypes.UUID, allowNull: false },
      flaggedByName: { type: DataTypes.STRING(200), allowNull: false },
      attendingId: { type: DataTypes.UUID, allowNull: true },
      raisedAt: { type: DataTypes.DATE, allowNull: true },
      flaggedAt: { type: DataTypes.DATE, allowNull: false },
      dueAt: { type: DataTypes.DATE, allowNull: false },
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
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'critical_results' },
  );
  const CriticalEvent = sequelize.define<CriticalEventRow>(
    'CriticalEvent',
    {
      id: { type: sequenceType(sequelize), primaryKey: true, autoIncrement: true },
      criticalResultId: { type: DataTypes.UUID, allowNull: false },
      at: { type: DataTypes.DATE, allowNull: false },
      kind: { type: DataTypes.STRING(16), allowNull: false },
      channel: { type: DataTypes.STRING(16), allowNull: false, defaultValue: '' },
      level: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      target: { type: DataTypes.STRING(254), allowNull: false, defaultValue: '' },
      actorId: { type: DataTypes.UUID, allowNull: true },
      actorName: { type: DataTypes.STRING(200), allowNull: false, defaultValue: '' },
      detail: { type: DataTypes.STRING(400), allowNull: false, defaultValue: '' },
    },
    { tableName: 'critical_result_events', timestamps: false },
  );
  return { CriticalResult, CriticalEvent };
}
