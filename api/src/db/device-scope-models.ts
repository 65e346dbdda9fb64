/** Models over migration 0017: the studies users follow and last opened (what their devices hold). */
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import type { Row } from './types';

export interface StudyFollowAttributes {
  id: string;
  userId: string;
  studyRef: string;
  createdAt: Date;
}
export type StudyFollowRow = Row<StudyFollowAttributes, 'id' | 'createdAt'>;

export interface StudyOpenAttributes {
  id: string;
  userId: string;
  studyRef: string;
  /** The last time the user read the study's details (written at most every few minutes). */
  openedAt: Date;
}
export type StudyOpenRow = Row<StudyOpenAttributes, 'id'>;

export interface DeviceScopeModels {
  StudyFollow: ModelStatic<StudyFollowRow>;
  StudyOpen: ModelStatic<StudyOpenRow>;
}

export function defineDeviceScopeModels(sequelize: Sequelize): DeviceScopeModels {
  const StudyFollow = sequelize.define<StudyFollowRow>(
    'StudyFollow',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false },
      studyRef: { type: DataTypes.UUID, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'study_follows', updatedAt: false },
  );
  const StudyOpen = sequelize.define<StudyOpenRow>(
    'StudyOpen',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false },
      studyRef: { type: DataTypes.UUID, allowNull: false },
      openedAt: { type: DataTypes.DATE, allowNull: false },
    },
    { tableName: 'study_opens', timestamps: false },
  );
  return { StudyFollow, StudyOpen };
}
