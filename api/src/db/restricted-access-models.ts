/** Models over migration 0011: restricted patients and emergency access windows. */
import type { RestrictionSource, ReviewStatus } from '@pacs/shared';
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import type { Row } from './types';

export interface RestrictedPatientAttributes {
  patientRef: string;
  source: RestrictionSource;
  restrictedBy: string | null;
  createdAt: Date;
}
export type RestrictedPatientRow = Row<RestrictedPatientAttributes, 'restrictedBy' | 'createdAt'>;

export interface AccessWindowAttributes {
  id: string;
  userId: string;
  patientRef: string;
  /** The study whose break-glass opened the window (what was asked for). */
  studyRef: string;
  reason: string;
  openedAt: Date;
  expiresAt: Date;
  closedAt: Date | null;
  /** 'user' (closed early) or 'expiry' (its time ran out): who wrote the stop event. */
  closedBy: 'user' | 'expiry' | null;
  reviewStatus: ReviewStatus;
  reviewedBy: string | null;
  reviewedAt: Date | null;
  reviewNote: string | null;
}
export type AccessWindowRow = Row<
  AccessWindowAttributes,
  'id' | 'closedAt' | 'closedBy' | 'reviewStatus' | 'reviewedBy' | 'reviewedAt' | 'reviewNote'
>;

export interface RestrictedAccessModels {
  RestrictedPatient: ModelStatic<RestrictedPatientRow>;
  AccessWindow: ModelStatic<AccessWindowRow>;
}

export function defineRestrictedAccessModels(sequelize: Sequelize): RestrictedAccessModels {
  const RestrictedPatient = sequelize.define<RestrictedPatientRow>(
    'RestrictedPatient',
    {
      patientRef: { type: DataTypes.UUID, primaryKey: true },
      source: { type: DataTypes.STRING(8), allowNull: false },
      restrictedBy: { type: DataTypes.UUID, allowNull: true },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'restricted_patients', updatedAt: false },
  );
  const AccessWindow = sequelize.define<AccessWindowRow>(
    'AccessWindow',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      userId: { type: DataTypes.UUID, allowNull: false },
      patientRef: { type: DataTypes.UUID, allowNull: false },
      studyRef: { type: DataTypes.UUID, allowNull: false },
      reason: { type: DataTypes.TEXT, allowNull: false },
      openedAt: { type: DataTypes.DATE, allowNull: false },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      closedAt: { type: DataTypes.DATE, allowNull: true },
      closedBy: { type: DataTypes.STRING(8), allowNull: true },
      reviewStatus: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'pending' },
      reviewedBy: { type: DataTypes.UUID, allowNull: true },
      reviewedAt: { type: DataTypes.DATE, allowNull: true },
      reviewNote: { type: DataTypes.TEXT, allowNull: true },
    },
    { tableName: 'emergency_access_windows', timestamps: false },
  );
  return { RestrictedPatient, AccessWindow };
}
