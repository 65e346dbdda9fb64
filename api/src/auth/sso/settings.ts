/** Settings of single sign-on through the hospital's OpenID provider (spread into the API's settings schema). */

import { existsSync, readFileSync } from 'node:fs';
import { assertStrongSecret, ConfigError } from '@pacs/server-kit/config';
import { type Static, Type } from 'typebox';

export const SSO_ENV_SCHEMA = Type.Object({
  PACS_OIDC_ISSUER: Type.Optional(
    Type.String({ minLength: 1, description: "the OpenID provider's issuer URL (https); single sign-on is off without it" }),
  ),
  PACS_OIDC_CLIENT_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'our client id at the provider' })),
  PACS_OIDC_CLIENT_SECRET: Type.Optional(
    Type.String({ minLength: 1, description: 'our client secret (client_secret_basic); without it we are a public client (PKCE only)' }),
  ),
  PACS_OIDC_SCOPES: Type.String({
    default: 'openid profile email',
    description: 'scopes asked for (add offline_access where the provider issues refresh tokens only then, e.g. Entra ID)',
  }),
  PACS_OIDC_GROUPS_CLAIM: Type.String({
    default: 'groups',
    pattern: '^[A-Za-z0-9_:-]+(\\.[A-Za-z0-9_:-]+)*$',
    description: "the claim that lists the user's groups; a dotted path reaches nested claims (realm_access.roles)",
  }),
  PACS_OIDC_PROVISIONING: Type.Enum(['automatic', 'approval'], {
    default: 'approval',
    description:
      "first sign-in of an unknown user: 'automatic' creates the account, 'approval' creates it inactive until an admin activates it",
  }),
  PACS_OIDC_LABEL: Type.String({ minLength: 1, maxLength: 60, default: 'Hospital sign-in', description: 'text of the sign-in button' }),
  PACS_OIDC_CA_FILE: Type.Optional(
    Type.String({ minLength: 1, description: "PEM of the CA that signed the provider's certificate (an internal CA)" }),
  ),
  PACS_OIDC_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 60, default: 10, description: 'answer time allowed to the provider' }),
  PACS_LOCAL_LOGIN: Type.Boolean({
    default: true,
    description: 'offer e-mail and password sign-in (local accounts; the fallback when the provider is down)',
  }),
});
type SsoEnv = Static<typeof SSO_ENV_SCHEMA>;

export interface SsoConfig {
  issuer: URL;
  clientId: string;
  clientSecret: string | null;
  scopes: string;
  groupsClaim: string[];
  provisioning: 'automatic' | 'approval';
  label: string;
  ca: string | null;
  timeoutSeconds: number;
}

export interface SignInConfig {
  /** Null when single sign-on is not configured. */
  sso: SsoConfig | null;
  localLogin: boolean;
}

export function signInConfigOf(env: SsoEnv, production: boolean): SignInConfig {
  const localLogin = env.PACS_LOCAL_LOGIN;
  if (!env.PACS_OIDC_ISSUER) {
    if (!localLogin) throw new ConfigError('PACS_LOCAL_LOGIN: cannot be off without single sign-on (PACS_OIDC_ISSUER)');
    return { sso: null, localLogin };
  }
  let issuer: URL;
  try {
    issuer = new URL(env.PACS_OIDC_ISSUER);
  } catch {
    throw new ConfigError(`PACS_OIDC_ISSUER: not a URL: "${env.PACS_OIDC_ISSUER}"`);
  }
  if (issuer.protocol !== 'https:') throw new ConfigError('PACS_OIDC_ISSUER: must be an https URL');
  if (issuer.username || issuer.password || issuer.search || issuer.hash) {
    throw new ConfigError('PACS_OIDC_ISSUER: expected the issuer URL without credentials, query or fragment');
  }
  if (!env.PACS_OIDC_CLIENT_ID) throw new ConfigError('PACS_OIDC_CLIENT_ID: required with PACS_OIDC_ISSUER');
  if (production && env.PACS_OIDC_CLIENT_SECRET) assertStrongSecret('PACS_OIDC_CLIENT_SECRET', env.PACS_OIDC_CLIENT_SECRET);
  if (!env.PACS_OIDC_SCOPES.split(/\s+/).includes('openid')) throw new ConfigError("PACS_OIDC_SCOPES: must include 'openid'");
  let ca: string | null = null;
  if (env.PACS_OIDC_CA_FILE) {
    if (!existsSync(env.PACS_OIDC_CA_FILE)) throw new ConfigError(`PACS_OIDC_CA_FILE: no such file: ${env.PACS_OIDC_CA_FILE}`);
    ca = readFileSync(env.PACS_OIDC_CA_FILE, 'utf8');
  }
  return {
    localLogin,
    sso: {
      issuer,
      clientId: env.PACS_OIDC_CLIENT_ID,
      clientSecret: env.PACS_OIDC_CLIENT_SECRET ?? null,
      scopes: env.PACS_OIDC_SCOPES.trim(),
      groupsClaim: env.PACS_OIDC_GROUPS_CLAIM.split('.'),
      provisioning: env.PACS_OIDC_PROVISIONING,
      label: env.PACS_OIDC_LABEL,
      ca,
      timeoutSeconds: env.PACS_OIDC_TIMEOUT_SECONDS,
    },
  };
}
