/**
 * Models over the tables of the migrations. Defined per Sequelize instance (not as global
 * classes) so several databases can live in one process, as the test suite does.
 */
import type {
  AuditAction,
  AuditEventId,
  AuditOutcome,
  OrderMatch,
  ReportStatus,
  RestrictionSource,
  Role,
  StudyPriority,
  StudyStatus,
} from '@pacs/shared';
import { type CreationOptional, DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import { type CriticalEventRow, type CriticalResultRow, defineCriticalModels } from './critical-models';
import { type DeviceRow, defineDeviceModels } from './device-models';
import { type DeviceScopeModels, defineDeviceScopeModels } from './device-scope-models';
import { defineMacroModels, type MacroRow } from './macro-models';
import { defineMeasurementModels, type MeasurementModels } from './measurement-models';
import { defineMfaModels, type MfaDeviceRow, type MfaRecoveryCodeRow } from './mfa-models';
import { defineOfflineAuditModels, type OfflineAuditModels } from './offline-audit-models';
import { defineOrderModels, type Hl7MessageRow, type OrderRow, type OutboxRow } from './order-models';
import { defineRestrictedAccessModels, type RestrictedAccessModels } from './restricted-access-models';
import { defineSsoModels, type SsoGroupRoleRow, type SsoIdentityRow, type SsoSessionRow, type SsoSignInRow } from './sso-models';
import { appendOnly, type Row, sequenceType, type Timestamps } from './types';
import { defineVersionModels, type ReportVersionRow } from './version-models';

export interface UserAttributes extends Timestamps {
  id: string;
  email: string;
  name: string;
  role: Role;
  passwordHash: string;
  active: boolean;
  /** Left from the account lock-out that failed logins no longer cause (login back-off is in memory): unused. */
  failedLoginCount: number;
  lockedUntil: Date | null;
  passwordChangedAt: Date;
  /** A referrer's provider id at the hospital (ORC-12.1 of their orders); '' for everyone else. */
  providerId: string;
  /** The TOTP secret, sealed (auth/secret-box.ts); set at enrolment, in force once mfaEnabledAt is. */
  mfaSecret: string | null;
  mfaEnabledAt: Date | null;
  /** The last TOTP time step accepted: a code is never accepted twice. */
  mfaLastTimeStep: number | null;
  /** Created by a first single sign-on and not yet activated by an admin. */
  approvalPending: boolean;
  /** The modalities of the user's arrival window on their devices, "|CT|MR|" (migration 0017); null: all. */
  modalities: string | null;
}
export type UserRow = Row<
  UserAttributes,
  | 'id'
  | 'active'
  | 'failedLoginCount'
  | 'lockedUntil'
  | 'passwordChangedAt'
  | 'providerId'
  | 'mfaSecret'
  | 'mfaEnabledAt'
  | 'mfaLastTimeStep'
  | 'approvalPending'
  | 'modalities'
  | keyof Timestamps
>;

export interface RefreshTokenAttributes extends Timestamps {
  id: string;
  userId: string;
  familyId: string;
  tokenHash: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  revokedReason: string | null;
  /** The device the session signed in from (migration 0010); null when it named none. */
  deviceId: string | null;
}
export type RefreshTokenRow = Row<RefreshTokenAttributes, 'id' | 'usedAt' | 'revokedAt' | 'revokedReason' | 'deviceId' | keyof Timestamps>;

export interface PatientAttributes extends Timestamps {
  id: string;
  patientId: string;
  issuerOfPatientId: string;
  name: string;
  birthDate: string | null;
  sex: string | null;
  deletedAt: Date | null;
}
export type PatientRow = Row<PatientAttributes, 'id' | 'issuerOfPatientId' | 'birthDate' | 'sex' | 'deletedAt' | keyof Timestamps>;

export interface StudyAttributes extends Timestamps {
  id: string;
  studyInstanceUid: string;
  orthancId: string | null;
  patientRef: string;
  patientName: string;
  patientId: string;
  accessionNumber: string;
  studyDate: string | null;
  studyTime: string | null;
  description: string;
  modalities: string;
  bodyPart: string;
  referringPhysician: string;
  searchText: string;
  numberOfSeries: number;
  numberOfInstances: number;
  status: StudyStatus;
  priority: StudyPriority;
  priorityRank: number;
  assigneeId: string | null;
  updatedAfterArrival: boolean;
  receivedAt: Date;
  version: number;
  /** Position in the worklist delta feed; see migration 0002. BIGINT comes back as a string on PostgreSQL. */
  changeSeq: number | string;
  patientBirthDate: string | null;
  patientSex: string | null;
  /** The order this row was scheduled from (migration 0004); null: the images came unordered. */
  orderRef: string | null;
  /** Why the study was ordered (the order's reason for exam). */
  indication: string;
  /** See migration 0004. */
  orderMatch: OrderMatch;
  /** Restricted on the study itself (migration 0011); the patient may be restricted too (restricted_patients). */
  restricted: boolean;
  restrictionSource: RestrictionSource | null;
  deletedAt: Date | null;
}
export type StudyRow = Row<
  StudyAttributes,
  | 'id'
  | 'orthancId'
  | 'studyDate'
  | 'studyTime'
  | 'description'
  | 'modalities'
  | 'bodyPart'
  | 'referringPhysician'
  | 'searchText'
  | 'numberOfSeries'
  | 'numberOfInstances'
  | 'status'
  | 'priority'
  | 'priorityRank'
  | 'assigneeId'
  | 'updatedAfterArrival'
  | 'version'
  | 'changeSeq'
  | 'patientBirthDate'
  | 'patientSex'
  | 'orderRef'
  | 'indication'
  | 'orderMatch'
  | 'restricted'
  | 'restrictionSource'
  | 'deletedAt'
  | keyof Timestamps
>;

export interface SeriesAttributes extends Timestamps {
  id: string;
  seriesInstanceUid: string;
  orthancId: string | null;
  studyRef: string;
  modality: string;
  seriesNumber: number | null;
  description: string;
  bodyPart: string;
  numberOfInstances: number;
}
export type SeriesRow = Row<
  SeriesAttributes,
  'id' | 'orthancId' | 'seriesNumber' | 'description' | 'bodyPart' | 'numberOfInstances' | keyof Timestamps
>;

export interface InstanceAttributes extends Timestamps {
  id: string;
  sopInstanceUid: string;
  orthancId: string | null;
  seriesRef: string;
  sopClassUid: string;
  instanceNumber: number | null;
  numberOfFrames: number;
  transferSyntaxUid: string | null;
}
export type InstanceRow = Row<
  InstanceAttributes,
  'id' | 'orthancId' | 'instanceNumber' | 'numberOfFrames' | 'transferSyntaxUid' | keyof Timestamps
>;

export interface ReportAttributes extends Timestamps {
  id: string;
  /** JSON [{ id, label }] of the template's required fill-in fields when the report began (migration 0014); null: none. */
  requiredFields?: string | null;
  studyRef: string;
  parentReportId: string | null;
  status: ReportStatus;
  authorId: string;
  preliminarySignerId: string | null;
  preliminarySignedAt: Date | null;
  finalSignerId: string | null;
  finalSignedAt: Date | null;
  returnComment: string | null;
  contentJson: string | null;
  contentText: string | null;
  contentHash: string | null;
  version: number;
  deletedAt: Date | null;
  // Migration 0003 (reporting)
  /** Study id for the primary report, own id for an addendum: unique (one primary report per study). */
  primarySlot: string;
  templateId: string | null;
  preliminarySignerName: string | null;
  finalSignerName: string | null;
  finalAttestation: string | null;
  finalUpdate: string | null;
  finalStateVector: string | null;
  returnedById: string | null;
  returnedAt: Date | null;
  finalizingBy: string | null;
  finalizingAt: Date | null;
  // Migration 0015 (report signature)
  /** Ed25519 signature (base64) of the signed content hash, by the installation's key. */
  signature: string | null;
  signatureKeyId: string | null;
}
export type ReportRow = Row<
  ReportAttributes,
  | 'signature'
  | 'signatureKeyId'
  | 'templateId'
  | 'preliminarySignerName'
  | 'finalSignerName'
  | 'finalAttestation'
  | 'finalUpdate'
  | 'finalStateVector'
  | 'returnedById'
  | 'returnedAt'
  | 'finalizingBy'
  | 'finalizingAt'
  | 'id'
  | 'parentReportId'
  | 'status'
  | 'preliminarySignerId'
  | 'preliminarySignedAt'
  | 'finalSignerId'
  | 'finalSignedAt'
  | 'returnComment'
  | 'contentJson'
  | 'contentText'
  | 'contentHash'
  | 'version'
  | 'deletedAt'
  | keyof Timestamps
>;

export interface TemplateAttributes extends Timestamps {
  id: string;
  name: string;
  /** Comma-separated modality codes. */
  modalities: string;
  bodyPart: string;
  /** JSON array of TemplateSection. */
  sections: string;
  /** Comma-separated procedure codes (migration 0014); empty: none. */
  procedureCodes: string;
  builtIn: boolean;
  retiredAt: Date | null;
  version: number;
}
export type TemplateRow = Row<
  TemplateAttributes,
  'id' | 'bodyPart' | 'procedureCodes' | 'builtIn' | 'retiredAt' | 'version' | keyof Timestamps
>;

export interface AuditLogAttributes {
  id: CreationOptional<number | string>;
  eventId: AuditEventId;
  action: AuditAction;
  outcome: AuditOutcome;
  eventDateTime: Date;
  userId: string | null;
  userRole: string | null;
  networkAddress: string | null;
  objectType: string | null;
  objectId: string | null;
  patientId: string | null;
  studyUid: string | null;
  requestId: string | null;
  details: string | null;
}
export type AuditLogRow = Row<AuditLogAttributes, 'id'>;

export interface CounterAttributes {
  name: string;
  value: number | string;
}
export type CounterRow = Row<CounterAttributes>;

export interface AppStateAttributes {
  key: string;
  value: string;
  updatedAt: Date;
}
export type AppStateRow = Row<AppStateAttributes, 'updatedAt'>;

export interface Models extends RestrictedAccessModels, MeasurementModels, DeviceScopeModels, OfflineAuditModels {
  Counter: ModelStatic<CounterRow>;
  AppState: ModelStatic<AppStateRow>;
  User: ModelStatic<UserRow>;
  RefreshToken: ModelStatic<RefreshTokenRow>;
  Patient: ModelStatic<PatientRow>;
  Study: ModelStatic<StudyRow>;
  Series: ModelStatic<SeriesRow>;
  Instance: ModelStatic<InstanceRow>;
  Report: ModelStatic<ReportRow>;
  Template: ModelStatic<TemplateRow>;
  AuditLog: ModelStatic<AuditLogRow>;
  Order: ModelStatic<OrderRow>;
  Hl7Message: ModelStatic<Hl7MessageRow>;
  Outbox: ModelStatic<OutboxRow>;
  CriticalResult: ModelStatic<CriticalResultRow>;
  CriticalEvent: ModelStatic<CriticalEventRow>;
  MfaRecoveryCode: ModelStatic<MfaRecoveryCodeRow>;
  MfaDevice: ModelStatic<MfaDeviceRow>;
  SsoIdentity: ModelStatic<SsoIdentityRow>;
  SsoGroupRole: ModelStatic<SsoGroupRoleRow>;
  SsoSignIn: ModelStatic<SsoSignInRow>;
  SsoSession: ModelStatic<SsoSessionRow>;
  Device: ModelStatic<DeviceRow>;
  ReportVersion: ModelStatic<ReportVersionRow>;
  UserMacro: ModelStatic<MacroRow>;
}

const uuidPk = { id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 } };

export { AppendOnlyError } from './types';

export function defineModels(sequelize: Sequelize): Models {
  const User = sequelize.define<UserRow>(
    'User',
    {
      ...uuidPk,
      email: { type: DataTypes.STRING(254), allowNull: false, unique: true },
      name: { type: DataTypes.STRING(200), allowNull: false },
      role: { type: DataTypes.STRING(20), allowNull: false },
      passwordHash: { type: DataTypes.STRING(100), allowNull: false },
      active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
      failedLoginCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      lockedUntil: { type: DataTypes.DATE, allowNull: true },
      passwordChangedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
      providerId: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      mfaSecret: { type: DataTypes.STRING(255), allowNull: true },
      mfaEnabledAt: { type: DataTypes.DATE, allowNull: true },
      mfaLastTimeStep: { type: DataTypes.INTEGER, allowNull: true },
      approvalPending: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      modalities: { type: DataTypes.STRING(128), allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'users' },
  );

  const RefreshToken = sequelize.define<RefreshTokenRow>(
    'RefreshToken',
    {
      ...uuidPk,
      userId: { type: DataTypes.UUID, allowNull: false },
      familyId: { type: DataTypes.UUID, allowNull: false },
      tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      usedAt: { type: DataTypes.DATE, allowNull: true },
      revokedAt: { type: DataTypes.DATE, allowNull: true },
      revokedReason: { type: DataTypes.STRING(40), allowNull: true },
      deviceId: { type: DataTypes.UUID, allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'refresh_tokens' },
  );

  const Patient = sequelize.define<PatientRow>(
    'Patient',
    {
      ...uuidPk,
      patientId: { type: DataTypes.STRING(64), allowNull: false },
      issuerOfPatientId: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      name: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
      birthDate: { type: DataTypes.STRING(8), allowNull: true },
      sex: { type: DataTypes.STRING(16), allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
      deletedAt: DataTypes.DATE,
    },
    { tableName: 'patients', paranoid: true },
  );

  const Study = sequelize.define<StudyRow>(
    'Study',
    {
      ...uuidPk,
      studyInstanceUid: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      orthancId: { type: DataTypes.STRING(64), allowNull: true, unique: true },
      patientRef: { type: DataTypes.UUID, allowNull: false },
      patientName: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
      patientId: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      accessionNumber: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      studyDate: { type: DataTypes.STRING(8), allowNull: true },
      studyTime: { type: DataTypes.STRING(16), allowNull: true },
      description: { type: DataTypes.STRING(256), allowNull: false, defaultValue: '' },
      modalities: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      bodyPart: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      referringPhysician: { type: DataTypes.STRING(324), allowNull: false, defaultValue: '' },
      searchText: { type: DataTypes.STRING(1024), allowNull: false, defaultValue: '' },
      numberOfSeries: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      numberOfInstances: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      status: { type: DataTypes.STRING(20), allowNull: false, defaultValue: 'unread' },
      priority: { type: DataTypes.STRING(10), allowNull: false, defaultValue: 'routine' },
      priorityRank: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 2 },
      assigneeId: { type: DataTypes.UUID, allowNull: true },
      updatedAfterArrival: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      receivedAt: { type: DataTypes.DATE, allowNull: false },
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      changeSeq: { type: DataTypes.BIGINT, allowNull: false, defaultValue: 0 },
      patientBirthDate: { type: DataTypes.STRING(8), allowNull: true },
      patientSex: { type: DataTypes.STRING(16), allowNull: true },
      orderRef: { type: DataTypes.UUID, allowNull: true },
      indication: { type: DataTypes.STRING(1024), allowNull: false, defaultValue: '' },
      orderMatch: { type: DataTypes.STRING(12), allowNull: false, defaultValue: '' },
      restricted: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      restrictionSource: { type: DataTypes.STRING(8), allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
      deletedAt: DataTypes.DATE,
    },
    { tableName: 'studies', paranoid: true },
  );

  const Series = sequelize.define<SeriesRow>(
    'Series',
    {
      ...uuidPk,
      seriesInstanceUid: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      orthancId: { type: DataTypes.STRING(64), allowNull: true, unique: true },
      studyRef: { type: DataTypes.UUID, allowNull: false },
      modality: { type: DataTypes.STRING(16), allowNull: false, defaultValue: '' },
      seriesNumber: { type: DataTypes.INTEGER, allowNull: true },
      description: { type: DataTypes.STRING(256), allowNull: false, defaultValue: '' },
      bodyPart: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      numberOfInstances: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'series' },
  );

  const Instance = sequelize.define<InstanceRow>(
    'Instance',
    {
      ...uuidPk,
      sopInstanceUid: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      orthancId: { type: DataTypes.STRING(64), allowNull: true, unique: true },
      seriesRef: { type: DataTypes.UUID, allowNull: false },
      sopClassUid: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      instanceNumber: { type: DataTypes.INTEGER, allowNull: true },
      numberOfFrames: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      transferSyntaxUid: { type: DataTypes.STRING(64), allowNull: true },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'instances' },
  );

  const Report = sequelize.define<ReportRow>(
    'Report',
    {
      ...uuidPk,
      studyRef: { type: DataTypes.UUID, allowNull: false },
      parentReportId: { type: DataTypes.UUID, allowNull: true },
      status: { type: DataTypes.STRING(20), allowNull: false, defaultValue: 'draft' },
      authorId: { type: DataTypes.UUID, allowNull: false },
      preliminarySignerId: { type: DataTypes.UUID, allowNull: true },
      preliminarySignedAt: { type: DataTypes.DATE, allowNull: true },
      finalSignerId: { type: DataTypes.UUID, allowNull: true },
      finalSignedAt: { type: DataTypes.DATE, allowNull: true },
      returnComment: { type: DataTypes.TEXT, allowNull: true },
      contentJson: { type: DataTypes.TEXT, allowNull: true },
      contentText: { type: DataTypes.TEXT, allowNull: true },
      contentHash: { type: DataTypes.STRING(64), allowNull: true },
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
      deletedAt: DataTypes.DATE,
      primarySlot: { type: DataTypes.STRING(36), allowNull: false },
      templateId: { type: DataTypes.UUID, allowNull: true },
      requiredFields: { type: DataTypes.TEXT, allowNull: true },
      preliminarySignerName: { type: DataTypes.STRING(200), allowNull: true },
      finalSignerName: { type: DataTypes.STRING(200), allowNull: true },
      finalAttestation: { type: DataTypes.STRING(400), allowNull: true },
      finalUpdate: { type: DataTypes.TEXT, allowNull: true },
      finalStateVector: { type: DataTypes.TEXT, allowNull: true },
      returnedById: { type: DataTypes.UUID, allowNull: true },
      returnedAt: { type: DataTypes.DATE, allowNull: true },
      finalizingBy: { type: DataTypes.UUID, allowNull: true },
      signature: { type: DataTypes.STRING(100), allowNull: true },
      signatureKeyId: { type: DataTypes.STRING(32), allowNull: true },
      finalizingAt: { type: DataTypes.DATE, allowNull: true },
    },
    { tableName: 'reports', paranoid: true },
  );

  const Template = sequelize.define<TemplateRow>(
    'Template',
    {
      ...uuidPk,
      name: { type: DataTypes.STRING(120), allowNull: false },
      modalities: { type: DataTypes.STRING(64), allowNull: false },
      bodyPart: { type: DataTypes.STRING(64), allowNull: false, defaultValue: '' },
      sections: { type: DataTypes.TEXT, allowNull: false },
      procedureCodes: { type: DataTypes.STRING(1400), allowNull: false, defaultValue: '' },
      builtIn: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      retiredAt: { type: DataTypes.DATE, allowNull: true },
      version: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
      createdAt: DataTypes.DATE,
      updatedAt: DataTypes.DATE,
    },
    { tableName: 'report_templates' },
  );

  const AuditLog = sequelize.define<AuditLogRow>(
    'AuditLog',
    {
      id: { type: sequenceType(sequelize), primaryKey: true, autoIncrement: true },
      eventId: { type: DataTypes.STRING(40), allowNull: false },
      action: { type: DataTypes.STRING(1), allowNull: false },
      outcome: { type: DataTypes.INTEGER, allowNull: false },
      eventDateTime: { type: DataTypes.DATE, allowNull: false },
      userId: { type: DataTypes.UUID, allowNull: true },
      userRole: { type: DataTypes.STRING(20), allowNull: true },
      networkAddress: { type: DataTypes.STRING(64), allowNull: true },
      objectType: { type: DataTypes.STRING(40), allowNull: true },
      objectId: { type: DataTypes.STRING(128), allowNull: true },
      patientId: { type: DataTypes.STRING(64), allowNull: true },
      studyUid: { type: DataTypes.STRING(64), allowNull: true },
      requestId: { type: DataTypes.STRING(64), allowNull: true },
      details: { type: DataTypes.TEXT, allowNull: true },
    },
    { tableName: 'audit_logs', timestamps: false },
  );
  appendOnly(AuditLog, 'audit_logs');

  const Counter = sequelize.define<CounterRow>(
    'Counter',
    { name: { type: DataTypes.STRING(40), primaryKey: true }, value: { type: DataTypes.BIGINT, allowNull: false } },
    { tableName: 'counters', timestamps: false },
  );
  const AppState = sequelize.define<AppStateRow>(
    'AppState',
    { key: { type: DataTypes.STRING(64), primaryKey: true }, value: { type: DataTypes.TEXT, allowNull: false }, updatedAt: DataTypes.DATE },
    { tableName: 'app_state', createdAt: false },
  );

  return {
    User,
    RefreshToken,
    Patient,
    Study,
    Series,
    Instance,
    Report,
    Template,
    AuditLog,
    Counter,
    AppState,
    ...defineOrderModels(sequelize),
    ...defineCriticalModels(sequelize),
    ...defineMfaModels(sequelize),
    ...defineSsoModels(sequelize),
    ...defineDeviceModels(sequelize),
    ...defineMacroModels(sequelize),
    ...defineRestrictedAccessModels(sequelize),
    ...defineVersionModels(sequelize),
    ...defineMeasurementModels(sequelize),
    ...defineDeviceScopeModels(sequelize),
    ...defineOfflineAuditModels(sequelize),
  };
}
