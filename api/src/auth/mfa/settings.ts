/** Settings of multi-factor authentication for local accounts (spread into the API's settings schema). */

import { assertStrongSecret, ConfigError } from '@pacs/server-kit/config';
import { ROLES, type Role } from '@pacs/shared';
import { type Static, Type } from 'typebox';

export const MFA_ENV_SCHEMA = Type.Object({
  PACS_MFA_REQUIRED_ROLES: Type.String({
    default: 'admin',
    description: "roles that must use a second factor (comma-separated, e.g. admin,attending; 'none' for no role); others may enrol",
  }),
  PACS_MFA_REMEMBER_DAYS: Type.Integer({
    minimum: 0,
    maximum: 90,
    default: 30,
    description: 'a device may skip the second factor this many days after a successful one (0: never)',
  }),
  PACS_MFA_SECRET_KEY: Type.Optional(
    Type.String({
      minLength: 32,
      description:
        "key that encrypts the TOTP secrets and the provider's tokens at rest, and from which the devices' vault keys are derived (≥ 32 characters); required in production",
    }),
  ),
});
type MfaEnv = Static<typeof MFA_ENV_SCHEMA>;

export interface MfaConfig {
  requiredRoles: Role[];
  rememberDays: number;
  secretKey: string;
}

/** Development only: a fixed key, so enrolments survive restarts of a laptop's API. */
const DEVELOPMENT_KEY = 'development-only-mfa-secret-key-not-for-production';

export function mfaConfigOf(env: MfaEnv, production: boolean): MfaConfig {
  const requiredRoles = env.PACS_MFA_REQUIRED_ROLES.split(',')
    .map((role) => role.trim())
    .filter((role) => role !== '' && role !== 'none');
  const unknown = requiredRoles.find((role) => !(ROLES as readonly string[]).includes(role));
  if (unknown !== undefined) throw new ConfigError(`PACS_MFA_REQUIRED_ROLES: '${unknown}' is not a role (${ROLES.join(', ')})`);
  if (production) {
    if (!env.PACS_MFA_SECRET_KEY) throw new ConfigError('PACS_MFA_SECRET_KEY: required in production');
    assertStrongSecret('PACS_MFA_SECRET_KEY', env.PACS_MFA_SECRET_KEY);
  }
  return {
    requiredRoles: requiredRoles as Role[],
    rememberDays: env.PACS_MFA_REMEMBER_DAYS,
    secretKey: env.PACS_MFA_SECRET_KEY ?? DEVELOPMENT_KEY,
  };
}
