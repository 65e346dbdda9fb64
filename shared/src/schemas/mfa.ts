/** The second factor of local accounts (TOTP): the login step, enrolment, and the user's own settings. */
import { type Static, Type } from 'typebox';
import { SessionResponse } from './auth';
import { DeviceCredentials } from './devices';

/** After a correct password when a second factor is due: verify a code, or enrol first. */
export const MfaChallenge = Type.Object({
  mfa: Type.Union([Type.Literal('verify'), Type.Literal('enrol')]),
  challenge: Type.String(),
  expiresIn: Type.Integer({ description: 'seconds' }),
});
export type MfaChallenge = Static<typeof MfaChallenge>;

export const LoginResponse = Type.Union([SessionResponse, MfaChallenge]);
export type LoginResponse = Static<typeof LoginResponse>;

const Code = Type.String({ pattern: '^[0-9]{6}$', description: 'the 6-digit code of the authenticator app' });
const RecoveryCode = Type.String({ minLength: 10, maxLength: 20, pattern: '^[A-Za-z0-9-]+$' });
const Challenge = Type.String({ minLength: 10, maxLength: 2048 });

export const MfaVerifyRequest = Type.Union([
  Type.Object(
    { challenge: Challenge, code: Code, rememberDevice: Type.Optional(Type.Boolean()), device: Type.Optional(DeviceCredentials) },
    { additionalProperties: false },
  ),
  Type.Object(
    { challenge: Challenge, recoveryCode: RecoveryCode, device: Type.Optional(DeviceCredentials) },
    { additionalProperties: false },
  ),
]);
export type MfaVerifyRequest = Static<typeof MfaVerifyRequest>;

export const MfaEnrolRequest = Type.Object({ challenge: Challenge }, { additionalProperties: false });
export type MfaEnrolRequest = Static<typeof MfaEnrolRequest>;

export const MfaEnrolment = Type.Object({
  /** Base32, for typing into the app when the QR code cannot be scanned. */
  secret: Type.String(),
  /** otpauth:// URI, shown as a QR code. */
  uri: Type.String(),
});
export type MfaEnrolment = Static<typeof MfaEnrolment>;

export const MfaConfirmAtLoginRequest = Type.Object(
  { challenge: Challenge, code: Code, device: Type.Optional(DeviceCredentials) },
  { additionalProperties: false },
);
export type MfaConfirmAtLoginRequest = Static<typeof MfaConfirmAtLoginRequest>;

export const MfaCodeRequest = Type.Object({ code: Code }, { additionalProperties: false });
export type MfaCodeRequest = Static<typeof MfaCodeRequest>;

/** Shown once; only their hashes are kept. */
export const RecoveryCodes = Type.Object({ recoveryCodes: Type.Array(Type.String()) });
export type RecoveryCodes = Static<typeof RecoveryCodes>;

export const EnrolledSession = Type.Intersect([SessionResponse, RecoveryCodes]);
export type EnrolledSession = Static<typeof EnrolledSession>;

export const MfaStatus = Type.Object({
  enabled: Type.Boolean(),
  required: Type.Boolean(),
  recoveryCodesLeft: Type.Integer(),
});
export type MfaStatus = Static<typeof MfaStatus>;
