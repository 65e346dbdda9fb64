/** Models over migration 0013: measurements and key images. */
import type { MeasurementTool } from '@pacs/shared';
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import type { Row, Timestamps } from './types';

export interface MeasurementAttributes extends Timestamps {
  id: string;
  studyRef: string;
  authorId: string;
  tool: MeasurementTool;
  label: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  frame: number;
  /** JSON: [[x, y], …] in image coordinates. */
  points: string;
  /** JSON: MeasuredValues. */
  measuredValues: string;
  /** JSON: MeasurementUnits. */
  units: string;
  deletedAt: Date | null;
}
export type MeasurementRow = Row<MeasurementAttributes, 'deletedAt' | keyof Timestamps>;

export interface KeyImageAttributes {
  id: string;
  studyRef: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  frame: number;
  note: string;
  flaggedById: string;
  createdAt: Date;
}
export type KeyImageRow = Row<KeyImageAttributes, 'createdAt'>;

export interface MeasurementModels {
  Measurement: ModelStatic<MeasurementRow>;
  KeyImage: ModelStatic<KeyImageRow>;
}

export function defineMeasurementModels(sequelize: Sequelize): MeasurementModels {
  const Measurement = sequelize.define<MeasurementRow>(
    'Measurement',
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      studyRef: { type: DataTypes.UUID, allowNull: false },
      authorId: { type: DataTypes.UUID, allowNull: false },
      tool: { type: DataTypes.STRING(16), allowNull: false },
      label: { type: DataTypes.STRING(200), allowNull: false },
      seriesInstanceUid: { type: DataTypes.STRING(64), allowNull: false },
      sopInstanceUid: { type: DataTypes.STRING(64), allowNull: false },
      frame: { type: DataTypes.INTEGER, allowNull: false },
      points: { type: DataTypes.TEXT, allowNull: false },
      measuredValues: { type: DataTypes.TEXT, allowNull: false },
      units: { type: DataTypes.TEXT, allowNull: false },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
      deletedAt: { type: DataTypes.DATE, allowNull: true },
    },
    // Tombstones are read on purpose (a replayed create), so no paranoid mode: queries say what they want.
    { tableName: 'measurements' },
  );
  const KeyImage = sequelize.define<KeyImageRow>(
    'KeyImage',
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      studyRef: { type: DataTypes.UUID, allowNull: false },
      seriesInstanceUid: { type: DataTypes.STRING(64), allowNull: false },
      sopInstanceUid: { type: DataTypes.STRING(64), allowNull: false },
      frame: { type: DataTypes.INTEGER, allowNull: false },
      note: { type: DataTypes.STRING(200), allowNull: false },
      flaggedById: { type: DataTypes.UUID, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'key_images', updatedAt: false },
  );
  return { Measurement, KeyImage };
}
