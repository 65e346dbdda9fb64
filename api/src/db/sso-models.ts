/** Models over migration 0009: identities at the OpenID provider, the group mapping, sign-ins in flight, provider sessions. */
import { DataTypes, type ModelStatic, type Sequelize } from 'sequelize';
import type { Row } from './types';

export interface SsoIdentityAttributes {
  /** sha256 of issuer and subject: a fixed-size key whatever the provider's subject looks like. */
  subjectKey: string;
  userId: string;
  issuer: string;
  subject: string;
  createdAt: Date;
}
export type SsoIdentityRow = Row<SsoIdentityAttributes, 'createdAt'>;

export interface SsoGroupRoleAttributes {
  id: string;
  groupName: string;
  role: string;
  /** The first mapping (lowest position) that names one of the user's groups gives the role. */
  position: number;
  createdAt: Date;
}
export type SsoGroupRoleRow = Row<SsoGroupRoleAttributes, 'id' | 'createdAt'>;

export interface SsoSignInAttributes {
  /** sha256 of the random value in the browser's sign-in cookie: the flow is bound to that browser. */
  bindingHash: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  expiresAt: Date;
  usedAt: Date | null;
  createdAt: Date;
}
export type SsoSignInRow = Row<SsoSignInAttributes, 'usedAt' | 'createdAt'>;

export interface SsoSessionAttributes {
  /** Our session (refresh-token family) this provider session backs. */
  familyId: string;
  userId: string;
  /** The provider's refresh token, sealed; null when it issued none. */
  refreshToken: string | null;
  /** The ID token, sealed: the hint of RP-initiated logout. */
  idToken: string;
  /** When the provider's access token ends (without a refresh token, the session ends then too). */
  accessExpiresAt: Date | null;
  checkedAt: Date;
  createdAt: Date;
}
export type SsoSessionRow = Row<SsoSessionAttributes, 'createdAt'>;

export interface SsoModels {
  SsoIdentity: ModelStatic<SsoIdentityRow>;
  SsoGroupRole: ModelStatic<SsoGroupRoleRow>;
  SsoSignIn: ModelStatic<SsoSignInRow>;
  SsoSession: ModelStatic<SsoSessionRow>;
}

export function defineSsoModels(sequelize: Sequelize): SsoModels {
  const SsoIdentity = sequelize.define<SsoIdentityRow>(
    'SsoIdentity',
    {
      subjectKey: { type: DataTypes.STRING(64), primaryKey: true },
      userId: { type: DataTypes.UUID, allowNull: false, unique: true },
      issuer: { type: DataTypes.STRING(255), allowNull: false },
      subject: { type: DataTypes.STRING(255), allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'sso_identities', updatedAt: false },
  );
  const SsoGroupRole = sequelize.define<SsoGroupRoleRow>(
    'SsoGroupRole',
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      groupName: { type: DataTypes.STRING(255), allowNull: false, unique: true },
      role: { type: DataTypes.STRING(20), allowNull: false },
      position: { type: DataTypes.INTEGER, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'sso_group_roles', updatedAt: false },
  );
  const SsoSignIn = sequelize.define<SsoSignInRow>(
    'SsoSignIn',
    {
      bindingHash: { type: DataTypes.STRING(64), primaryKey: true },
      state: { type: DataTypes.STRING(64), allowNull: false },
      nonce: { type: DataTypes.STRING(64), allowNull: false },
      codeVerifier: { type: DataTypes.STRING(128), allowNull: false },
      returnTo: { type: DataTypes.STRING(500), allowNull: false },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      usedAt: { type: DataTypes.DATE, allowNull: true },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'sso_sign_ins', updatedAt: false },
  );
  const SsoSession = sequelize.define<SsoSessionRow>(
    'SsoSession',
    {
      familyId: { type: DataTypes.UUID, primaryKey: true },
      userId: { type: DataTypes.UUID, allowNull: false },
      refreshToken: { type: DataTypes.TEXT, allowNull: true },
      idToken: { type: DataTypes.TEXT, allowNull: false },
      accessExpiresAt: { type: DataTypes.DATE, allowNull: true },
      checkedAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: DataTypes.DATE,
    },
    { tableName: 'sso_sessions', updatedAt: false },
  );
  return { SsoIdentity, SsoGroupRole, SsoSignIn, SsoSession };
}
