/** Single sign-on through the hospital's OpenID provider: what the login page offers, the group → role mapping, logout. */
import { type Static, Type } from 'typebox';
import { RoleSchema } from './auth';

/** Public: which ways of signing in this installation offers. */
export const SignInMethods = Type.Object({
  localLogin: Type.Boolean(),
  sso: Type.Union([Type.Object({ label: Type.String() }), Type.Null()]),
});
export type SignInMethods = Static<typeof SignInMethods>;

export const SSO_GROUP_MAX_LENGTH = 255;
export const SSO_MAPPINGS_MAX = 200;

export const GroupRoleMapping = Type.Object(
  {
    group: Type.String({ minLength: 1, maxLength: SSO_GROUP_MAX_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    role: RoleSchema,
  },
  { additionalProperties: false },
);
export type GroupRoleMapping = Static<typeof GroupRoleMapping>;

/** Ordered: the first entry naming one of the user's groups gives the role; no entry, no access. */
export const GroupRoleMappings = Type.Object(
  { items: Type.Array(GroupRoleMapping, { maxItems: SSO_MAPPINGS_MAX }) },
  { additionalProperties: false },
);
export type GroupRoleMappings = Static<typeof GroupRoleMappings>;

export const SsoSettingsView = Type.Object({
  enabled: Type.Boolean(),
  issuer: Type.Union([Type.String(), Type.Null()]),
  provisioning: Type.Union([Type.Literal('automatic'), Type.Literal('approval'), Type.Null()]),
  groupsClaim: Type.Union([Type.String(), Type.Null()]),
  localLogin: Type.Boolean(),
  mappings: Type.Array(GroupRoleMapping),
});
export type SsoSettingsView = Static<typeof SsoSettingsView>;

export const LogoutResponse = Type.Object({
  /** The provider's end-session page to visit next (RP-initiated logout), when the session came from it. */
  endSessionUrl: Type.Union([Type.String(), Type.Null()]),
});
export type LogoutResponse = Static<typeof LogoutResponse>;

/**
 * Why a single sign-on ended on the login page (`/?sso_error=<code>`): the browser was sent there
 * by a redirect, so the reason travels as a code and the page says it in words.
 */
export const SSO_ERRORS = {
  unavailable: 'The hospital sign-in service cannot be reached right now.',
  cancelled: 'The hospital sign-in was cancelled or refused.',
  expired: 'The sign-in took too long or was started in another browser. Please try again.',
  refused: 'The answer of the hospital sign-in could not be verified. Please try again.',
  'not-allowed': 'Your hospital account has no role in this system. Ask the PACS administrator for access.',
  pending: 'Your account was created and waits for an administrator to approve it.',
  inactive: 'Your account in this system is deactivated.',
  conflict: 'An account with your e-mail already exists here. Ask the PACS administrator to link it.',
} as const;
export type SsoError = keyof typeof SSO_ERRORS;

export function isSsoError(value: unknown): value is SsoError {
  return typeof value === 'string' && Object.hasOwn(SSO_ERRORS, value);
}
