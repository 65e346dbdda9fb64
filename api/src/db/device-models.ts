/** Models over migration 0010: the devices users sign in from. */
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import type { Row } from './types';

export interface DeviceAttributes {
  id: string;
  userId: string;
  /** SHA-256 (hex) of the device's secret; the same on every user's row of one physical device. */
  secretHash: string;
  /** Browser and operating system, e.g. "Firefox 133 on Windows". */
  userAgent: string;
  createdAt: Date;
  lastSeenAt: Date;
  studiesHeld: number;
  reportsHeld: number;
  worklistRowsHeld: number;
  holdingsReportedAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  wipedAt: Date | null;
  /** JSON of the WipeSummary the device reported. */
  wipeReport: string | null;
}
export type DeviceRow = Row<
  DeviceAttributes,
  | 'userAgent'
  | 'createdAt'
  | 'studiesHeld'
  | 'reportsHeld'
  | 'worklistRowsHeld'
  | 'holdingsReportedAt'
  | 'revokedAt'
  | 'revokedBy'
  | 'wipedAt'
  | 'wipeReport'
>;

export interface DeviceModels {
  Device: ModelStatic<DeviceRow>;
}

export function defineDeviceModels(sequelize: Sequelize): DeviceModels {
  // A new object per column: Sequelize writes each attribute's field name into its definition.
  const count = () => ({ type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 });
  const Device = sequelize.define<DeviceRow>(
    'Device',
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      userId: { type: DataTypes.UUID, allowNull: false },
      secretHash: { type: DataTypes.STRING(64), allowNull: false },
      userAgent: { type: DataTypes.STRING(100), allowNull: false, defaultValue: '' },
      createdAt: DataTypes.DATE,
      lastSeenAt: { type: DataTypes.DATE, allowNull: false },
      studiesHeld: count(),
      reportsHeld: count(),
      worklistRowsHeld: count(),
      holdingsReportedAt: { type: DataTypes.DATE, allowNull: true },
      revokedAt: { type: DataTypes.DATE, allowNull: true },
      revokedBy: { type: DataTypes.UUID, allowNull: true },
      wipedAt: { type: DataTypes.DATE, allowNull: true },
      wipeReport: { type: DataTypes.TEXT, allowNull: true },
    },
    { tableName: 'devices', updatedAt: false },
  );
  return { Device };
}
