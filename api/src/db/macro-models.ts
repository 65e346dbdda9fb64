/** Model over migration 0014: personal macros (ids made by the client; deleted ones kept as tombstones). */
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import type { Row } from './types';

export interface MacroAttributes {
  id: string;
  userId: string;
  trigger: string;
  label: string;
  text: string;
  version: number;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
export type MacroRow = Row<MacroAttributes, 'version' | 'deletedAt' | 'createdAt' | 'updatedAt'>;

export interface MacroModels {
  UserMacro: ModelStatic<MacroRow>;
}

export function defineMacroModels(sequelize: Sequelize): MacroModels {
  const UserMacro = sequelize.define<MacroRow>(
    'UserMacro',
    {
      id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
      userId: { type: DataTypes.UUID, allowNull: false },
      trigger: { type: DataTypes.STRING(32), allowNull: false },
      label: { type: DataTypes.STRING(120), allowNull: false },
      text: { type: DataTypes.TEXT, allowNull: false },
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      deletedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'user_macros' },
  );
  return { UserMacro };
}
