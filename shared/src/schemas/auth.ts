import { type Static, Type } from 'typebox';
import { ROLES } from '../permissions';
import { IsoDateTime, Uuid } from './common';
import { DeviceCredentials, DeviceRegistration } from './devices';

export const RoleSchema = Type.Enum(ROLES, { description: 'admin, attending, resident, technologist or referrer' });

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });

/**
 * bcrypt reads at most 72 bytes; longer passwords are refused rather than silently truncated.
 * The byte limit is checked by the API (a JSON schema counts characters, not UTF-8 bytes).
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_BYTES = 72;
export const NewPassword = Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_BYTES });

export const User = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    name: Type.String(),
    role: RoleSchema,
    active: Type.Boolean(),
    /** A referrer's provider id at the hospital; '' for everyone else. */
    providerId: Type.String(),
    /** The modalities of the arrival window on the user's devices; null: all. */
    modalities: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
    /** Created by a first single sign-on; waits for an admin to activate it. */
    approvalPending: Type.Boolean(),
    createdAt: IsoDateTime,
    updatedAt: IsoDateTime,
  },
  { $id: 'User' },
);
export type User = Static<typeof User>;

export const LoginRequest = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    /** The web app's device identity; absent from clients that keep none (scripts, tests). */
    device: Type.Optional(DeviceCredentials),
  },
  { additionalProperties: false },
);
export type LoginRequest = Static<typeof LoginRequest>;

/** The refresh token travels only in an httpOnly cookie, never in a body. */
export const SessionResponse = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  user: User,
  /** At sign-in with a device: the id it is registered under from now on. */
  device: Type.Optional(DeviceRegistration),
  /**
   * The key that unlocks this device's vault (32 bytes, base64url): only to a session on a device
   * that proved its secret. The device keeps its data key wrapped under it and never stores it.
   */
  deviceKey: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })),
});
export type SessionResponse = Static<typeof SessionResponse>;

export const PasswordChangeRequest = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), newPassword: NewPassword },
  { additionalProperties: false },
);
export type PasswordChangeRequest = Static<typeof PasswordChangeRequest>;

/** Claims of the API's access token. */
export interface AccessTokenClaims {
  sub: string;
  role: (typeof ROLES)[number];
  aud: string;
  iss: string;
  iat: number;
  exp: number;
}
