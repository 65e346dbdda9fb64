/** Models over migration 0008: recovery codes and remembered devices of the second factor. */
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import type { Row } from './types';

export interface MfaRecoveryCodeAttributes {
  id: string;
  userId: string;
  codeHash: string;
  usedAt: Date | null;
  createdAt: Date;
}
export type MfaRecoveryCodeRow = Row<MfaRecoveryCodeAttributes, 'id' | 'usedAt' | 'createdAt'>;

export interface MfaDeviceAttributes {
  id: string;
  userId: string;
  tokenHash: string;
  userAgent: string;
  expiresAt: Date;
  createdAt: Date;
}
export type MfaDeviceRow = Row<MfaDeviceAttributes, 'id' | 'userAgent' | 'createdAt'>;

export interface MfaModels {
  MfaRecoveryCode: ModelStatic<MfaRecoveryCodeRow>;
  MfaDevice: ModelStatic<MfaDeviceRow>;
}

const uuidPk = { id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 } };

export function defineMfaModels(sequelize: Sequelize): MfaModels {
  const MfaRecoveryCode = sequelize.define<MfaRecoveryCodeRow>(
    'MfaRecoveryCode',
    {
      ...uuidPk,
      userId: { type: DataTypes.UUID, allowNull: false },
      codeHash: { type: DataTypes.STRING(64), allowNull: false },
      usedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'mfa_recovery_codes', updatedAt: false },
  );
  const MfaDevice = sequelize.define<MfaDeviceRow>(
    'MfaDevice',
    {
      ...uuidPk,
      userId: { type: DataTypes.UUID, allowNull: false },
      tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      userAgent: { type: DataTypes.STRING(200), allowNull: false, defaultValue: '' },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'mfa_devices', updatedAt: false },
  );
  return { MfaRecoveryCode, MfaDevice };
}
