/** Models over migration 0016: the immutable versions of a report (at submit, return and final). */
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import { appendOnly, type Row } from './types';

export const VERSION_EVENTS = ['submit', 'return', 'finalize'] as const;
export type VersionEvent = (typeof VERSION_EVENTS)[number];

export interface ReportVersionAttributes {
  id: string;
  reportId: string;
  /** 1, 2, 3 … per report, in the order they were stored. */
  sequence: number;
  event: VersionEvent;
  /** The report's status once the event happened. */
  status: string;
  /** canonicalJson({ doc, sections }) of the document then. */
  contentJson: string;
  contentText: string;
  /** The whole Yjs document then (one update, base64): authorship and later comparisons start here. */
  yjsState: string;
  userId: string;
  userName: string;
  createdAt: Date;
}
export type ReportVersionRow = Row<ReportVersionAttributes, 'id' | 'createdAt'>;

export function defineVersionModels(sequelize: Sequelize): { ReportVersion: ModelStatic<ReportVersionRow> } {
  const ReportVersion = sequelize.define<ReportVersionRow>(
    'ReportVersion',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      reportId: { type: DataTypes.UUID, allowNull: false },
      sequence: { type: DataTypes.INTEGER, allowNull: false },
      event: { type: DataTypes.STRING(16), allowNull: false },
      status: { type: DataTypes.STRING(16), allowNull: false },
      contentJson: { type: DataTypes.TEXT, allowNull: false },
      contentText: { type: DataTypes.TEXT, allowNull: false },
      yjsState: { type: DataTypes.TEXT, allowNull: false },
      userId: { type: DataTypes.UUID, allowNull: false },
      userName: { type: DataTypes.STRING(200), allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'report_versions', updatedAt: false },
  );
  appendOnly(ReportVersion, 'report_versions');
  return { ReportVersion };
}
