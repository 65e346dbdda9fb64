/** Model over migration 0018: each device's offline read chain head and its alarm. */
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import type { Row } from './types';

export interface OfflineAuditChainAttributes {
  deviceId: string;
  userId: string;
  lastSeq: number;
  /** SHA-256 (hex) of the last accepted entry; 64 zeros before the first. */
  lastHash: string;
  restartAllowed: boolean;
  brokenAt: Date | null;
  brokenReason: string | null;
  updatedAt: Date;
}
export type OfflineAuditChainRow = Row<OfflineAuditChainAttributes, 'restartAllowed' | 'brokenAt' | 'brokenReason' | 'updatedAt'>;

export interface OfflineAuditModels {
  OfflineAuditChain: ModelStatic<OfflineAuditChainRow>;
}

export function defineOfflineAuditModels(sequelize: Sequelize): OfflineAuditModels {
  const OfflineAuditChain = sequelize.define<OfflineAuditChainRow>(
    'OfflineAuditChain',
    {
      deviceId: { type: DataTypes.UUID, primaryKey: true },
      userId: { type: DataTypes.UUID, allowNull: false },
      lastSeq: { type: DataTypes.INTEGER, allowNull: false },
      lastHash: { type: DataTypes.STRING(64), allowNull: false },
      restartAllowed: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      brokenAt: { type: DataTypes.DATE, allowNull: true },
      brokenReason: { type: DataTypes.STRING(200), allowNull: true },
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'offline_audit_chains', createdAt: false },
  );
  return { OfflineAuditChain };
}
