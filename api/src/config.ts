/**
 * Every setting the API reads, validated at boot. A bad value stops start-up with a message that
 * names the variable. DEPLOYMENT.md documents each one (a test keeps the two in step).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseAddressList } from '@pacs/server-kit/address-list';
import { assertStrongSecret, ConfigError, databaseUrlOf, readEnvironment, secretOrRandom } from '@pacs/server-kit/config';
import { type Static, Type } from 'typebox';
import { ATNA_ENV_SCHEMA, type AtnaConfig, atnaConfigOf } from './audit/atna/settings';
import { OFFLINE_AUDIT_ENV_SCHEMA, type OfflineAuditConfig, offlineAuditConfigOf } from './audit/offline/settings';
import { MFA_ENV_SCHEMA, type MfaConfig, mfaConfigOf } from './auth/mfa/settings';
import { type SignInConfig, SSO_ENV_SCHEMA, signInConfigOf } from './auth/sso/settings';
import { CRITICAL_ENV_SCHEMA, type CriticalConfig, criticalConfigOf, type MailConfig, mailConfigOf } from './critical-results/settings';
import { SIGNING_ENV_SCHEMA, type SigningConfig, signingConfigOf } from './reports/signature/signing-keys';
import { BREAK_GLASS_ENV_SCHEMA, type BreakGlassConfig, breakGlassConfigOf } from './restricted-access/settings';
import { parseDestinations, type ResultDestination } from './results/destinations';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export const ENV_SCHEMA = Type.Object({
  PACS_ENV: Type.Enum(['development', 'test', 'production'], { default: 'development' }),
  PACS_API_HOST: Type.String({ default: '127.0.0.1', description: 'address the API listens on' }),
  PACS_API_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  PACS_DATA_DIR: Type.String({ minLength: 1, default: path.join(REPO_ROOT, 'data') }),
  DATABASE_URL: Type.Optional(
    Type.String({ pattern: '^(sqlite:|postgres://|postgresql://|mssql://)', description: 'default: SQLite file under PACS_DATA_DIR' }),
  ),
  PACS_JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'HMAC key of access tokens (≥ 32 chars)' })),
  PACS_ACCESS_TOKEN_TTL: Type.Integer({ minimum: 60, maximum: 3600, default: 900 }),
  PACS_REFRESH_TOKEN_TTL: Type.Integer({ minimum: 300, maximum: 30 * 86400, default: 12 * 3600 }),
  PACS_REFRESH_REUSE_GRACE_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 300,
    default: 30,
    description:
      'seconds after a rotation during which the rotated refresh token may be presented again (a lost response) while its successor is unused; 0 = any replay revokes the session family',
  }),
  PACS_ADMIN_EMAIL: Type.String({ format: 'email', default: 'admin@pacs.local' }),
  PACS_ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 12, maxLength: 72 })),
  PACS_BCRYPT_COST: Type.Integer({ minimum: 12, maximum: 15, default: 12 }),
  PACS_LOGIN_MAX_FAILURES: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
  PACS_LOGIN_BACKOFF_MAX_SECONDS: Type.Integer({ minimum: 1, maximum: 86400, default: 900 }),
  PACS_LOGIN_RATE_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 10000, default: 20 }),
  PACS_REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description: 'Redis shared by several API instances: login rate limit, cache eviction, worklist nudges; unset = one instance',
    }),
  ),
  PACS_CORS_ORIGINS: Type.String({ default: '', description: 'comma-separated allow-list; empty = same origin only' }),
  PACS_TRUST_PROXY: Type.Boolean({ default: false, description: 'trust X-Forwarded-* from the reverse proxy' }),
  PACS_TRUSTED_PROXIES: Type.String({
    minLength: 1,
    default: 'loopback,uniquelocal',
    description: 'with PACS_TRUST_PROXY: the proxies (addresses, CIDR ranges, loopback, uniquelocal) whose X-Forwarded-For is believed',
  }),
  PACS_COOKIE_SECURE: Type.Optional(Type.Boolean({ description: 'Secure flag on the refresh cookie; default on in production' })),
  PACS_API_DOCS: Type.Optional(Type.Boolean({ description: 'serve the interactive docs at /api/docs; default on except in production' })),
  PACS_BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 50 * 1024 * 1024, default: 1024 * 1024 }),
  PACS_METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'bearer token for /metrics; required in production' })),
  PACS_ORTHANC_URL: Type.Optional(Type.String({ pattern: '^https?://', description: "Orthanc's REST API; unset = no ingestion" })),
  PACS_ORTHANC_USER: Type.String({ default: 'pacs-api' }),
  PACS_ORTHANC_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  PACS_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'HMAC key shared with the Orthanc webhook script' })),
  PACS_DICOMWEB_METADATA_CACHE_MB: Type.Integer({
    minimum: 0,
    maximum: 4096,
    default: 64,
    description: 'memory for cached study metadata (gzip-compressed; ~0.1 MB per 300-image CT); 0 = off',
  }),
  PACS_RECONCILE_INTERVAL_SECONDS: Type.Integer({ minimum: 0, maximum: 86400, default: 30 }),
  PACS_PUBLIC_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'origin browsers use (scheme, host, port): DICOMweb BulkDataURIs point there' }),
  ),
  PACS_HTTP_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8080, description: "the gateway's port: default PACS_PUBLIC_URL" }),
  PACS_SYNC_URL: Type.String({
    pattern: '^https?://',
    default: 'http://127.0.0.1:1234',
    description: "the sync-server's HTTP base (internal API)",
  }),
  PACS_SYNC_SERVICE_TOKEN: Type.Optional(Type.String({ minLength: 32, description: "bearer of the sync-server's internal API" })),
  PACS_SYNC_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  PACS_DOCUMENT_TOKEN_SECRET: Type.Optional(
    Type.String({ minLength: 32, description: 'HMAC key of document tokens, shared with the sync-server' }),
  ),
  PACS_DOCUMENT_TOKEN_TTL: Type.Integer({ minimum: 30, maximum: 3600, default: 300 }),
  PACS_INSTITUTION_NAME: Type.String({ minLength: 1, maxLength: 200, default: 'Radiology Department' }),
  PACS_INSTITUTION_LOGO: Type.Optional(Type.String({ minLength: 1, description: 'PNG or JPEG file printed in the PDF header' })),
  PACS_PDF_FONT_DIR: Type.Optional(Type.String({ minLength: 1, description: 'directory with DejaVuSans*.ttf' })),
  PACS_PDF_FALLBACK_FONTS: Type.Optional(
    Type.String({ minLength: 1, description: 'colon-separated font files for glyphs DejaVu lacks (CJK), tried in order' }),
  ),
  PACS_ANONYMOUS_REFUSALS_PER_MINUTE: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: 600,
    description: 'refused unauthenticated requests per client address per minute before the rest are answered 429',
  }),
  PACS_AUDIT_FOLD_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 60,
    description: 'repeats of one anonymous refusal (same address, route, outcome) within this window share one audit row with a count',
  }),
  PACS_HL7_PORT: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 65535,
      description: 'MLLP port for HL7 v2 orders and patient updates (npm start: 2575); unset = no listener',
    }),
  ),
  PACS_HL7_HOST: Type.Optional(Type.String({ minLength: 1, description: 'address the HL7 listener binds; default PACS_API_HOST' })),
  PACS_HL7_ALLOWED_SENDERS: Type.String({
    minLength: 1,
    default: 'loopback',
    description: 'addresses and CIDR ranges that may connect (MLLP has no authentication): the interface engine',
  }),
  PACS_HL7_MAX_MESSAGE_BYTES: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
  PACS_HL7_IDLE_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 86400, default: 300 }),
  PACS_HL7_MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 10_000, default: 32 }),
  PACS_HL7_APPLICATION: Type.String({ minLength: 1, maxLength: 180, default: 'PACS', description: 'our MSH-3 in acknowledgements' }),
  PACS_HL7_FACILITY: Type.String({ minLength: 1, maxLength: 180, default: 'RADIOLOGY', description: 'our MSH-4 in acknowledgements' }),
  PACS_HL7_FALLBACK_CHARSET: Type.Enum(['latin1', 'windows-1252', 'iso-8859-15', 'utf8'], {
    default: 'latin1',
    description: 'how a message without MSH-18 is read when its bytes are not valid UTF-8',
  }),
  PACS_HL7_PATIENTS_FROM_ORDERS: Type.Boolean({
    default: true,
    description: 'an order may introduce a patient; false: orders only for patients an ADT message registered',
  }),
  PACS_MWL_DIR: Type.Optional(
    Type.String({ minLength: 1, description: "folder of Orthanc's worklist plugin: scheduled orders are written there as worklist items" }),
  ),
  PACS_HL7_RESULT_DESTINATIONS: Type.String({
    default: '',
    description: 'where signed results go as ORU^R01: comma-separated NAME@host:port (NAME is MSH-5); empty = none',
  }),
  PACS_HL7_RESULT_ACK_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 600, default: 30 }),
  PACS_HL7_RESULT_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
  PACS_HL7_RESULT_RETRY_MAX_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  PACS_HL7_RESULT_PRELIMINARY: Type.Boolean({
    default: false,
    description: "also send a resident's preliminary report, as submitted, as ORU^R01 with result status P (the final report follows as F)",
  }),
  PACS_ARCHIVE_SIGNED_REPORTS: Type.Boolean({
    default: true,
    description: 'store every signed report and addendum in Orthanc as an Encapsulated PDF in its study (with PACS_ORTHANC_URL)',
  }),
  PACS_LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  ...CRITICAL_ENV_SCHEMA.properties,
  ...ATNA_ENV_SCHEMA.properties,
  ...MFA_ENV_SCHEMA.properties,
  ...SSO_ENV_SCHEMA.properties,
  ...BREAK_GLASS_ENV_SCHEMA.properties,
  ...SIGNING_ENV_SCHEMA.properties,
  ...OFFLINE_AUDIT_ENV_SCHEMA.properties,
});
type Env = Static<typeof ENV_SCHEMA>;

/** Dev-only credentials stated in the README; refused in production. */
export const DEV_PASSWORDS = {
  admin: 'pacs-admin-dev-password',
  radiologist: 'pacs-radiologist-dev-password',
  resident: 'pacs-resident-dev-password',
} as const;

export interface Config {
  env: Env['PACS_ENV'];
  production: boolean;
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  jwtSecret: string;
  jwtSecretGenerated: boolean;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  /** A rotated refresh token replayed this soon, its successor unused, gets a fresh successor instead of revoking the family. */
  refreshReuseGraceSeconds: number;
  adminEmail: string;
  adminPassword: string;
  /** PACS_ADMIN_PASSWORD was set: it replaces the admin's password while that is a development one. */
  adminPasswordFromEnvironment: boolean;
  seedDemoUsers: boolean;
  bcryptCost: number;
  loginMaxFailures: number;
  /** Longest wait imposed on one client address after failed logins (auth/login-throttle.ts). */
  loginBackoffMaxSeconds: number;
  loginRatePerMinute: number;
  /** Several API instances share state through this Redis; undefined = a single instance. */
  redisUrl: string | undefined;
  corsOrigins: string[];
  /** Believe X-Forwarded-For only from these peers (an address list, as the sync-server reads its own); false: from nobody. */
  trustProxy: false | string;
  cookieSecure: boolean;
  bodyLimit: number;
  /** Swagger UI and the OpenAPI document at /api/docs. */
  apiDocs: boolean;
  metricsToken: string | undefined;
  logLevel: Env['PACS_LOG_LEVEL'];
  auditFoldSeconds: number;
  anonymousRefusalsPerMinute: number;
  orthancUrl: string | undefined;
  orthancUser: string;
  orthancPassword: string;
  webhookSecret: string;
  reconcileIntervalSeconds: number;
  /** Bytes of gzip-compressed study metadata the DICOMweb proxy keeps (dicomweb/metadata-cache.ts). */
  metadataCacheBytes: number;
  /** The origin browsers use (`http(s)://host[:port]`), never taken from request headers. */
  publicUrl: { proto: 'http' | 'https'; host: string };
  syncUrl: string;
  /** Undefined: the reporting routes that need the sync-server answer 503. */
  syncServiceToken: string | undefined;
  syncTimeoutMs: number;
  documentTokenSecret: string;
  documentTokenSecretGenerated: boolean;
  documentTokenTtl: number;
  institutionName: string;
  institutionLogo: string | undefined;
  /** Undefined: the fonts of the `dejavu-fonts-ttf` package. */
  pdfFontDir: string | undefined;
  /** Font files tried, in order, for characters DejaVu has no glyph for. */
  pdfFallbackFonts: string[];
  hl7: Hl7Config;
  critical: CriticalConfig;
  mail: MailConfig;
  /** Undefined: the audit trail is not exported. */
  atna: AtnaConfig | undefined;
  mfa: MfaConfig;
  signIn: SignInConfig;
  breakGlass: BreakGlassConfig;
  signing: SigningConfig;
  offlineAudit: OfflineAuditConfig;
}

/** The HL7 v2 interface (hl7/, orders/). */
export interface Hl7Config {
  /** Null: no listener (server.ts starts it when set). */
  port: number | null;
  host: string;
  allowedSenders: string;
  maxMessageBytes: number;
  idleTimeoutMs: number;
  maxConnections: number;
  application: string;
  facility: string;
  fallbackCharset: string;
  patientsFromOrders: boolean;
  /** Orthanc's worklist folder (PACS_MWL_DIR); undefined: no modality worklist. */
  worklistDir: string | undefined;
  /** Results out (ORU^R01, and the archive's copy), see results/. */
  results: {
    destinations: ResultDestination[];
    /** Signed reports go into Orthanc as Encapsulated PDF (on by default when Orthanc is configured). */
    archive: boolean;
    /** Preliminary reports go out too (OBR-25 P). */
    preliminary: boolean;
    ackTimeoutMs: number;
    maxAttempts: number;
    retryMaxMs: number;
  };
}

export { ConfigError };

function destinationsSetting(value: string): ResultDestination[] {
  try {
    return parseDestinations(value);
  } catch (error) {
    throw new ConfigError(`PACS_HL7_RESULT_DESTINATIONS: ${(error as Error).message}`);
  }
}

/** A setting that lists addresses, checked at boot: the value back, or a ConfigError naming the bad entry. */
function addressListSetting(name: string, value: string): string {
  try {
    parseAddressList(value);
    return value;
  } catch (error) {
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
}

/** Debian's fonts-droid-fallback: Han and kana (the full face), then Hangul (the smaller face has it). */
export const DEFAULT_PDF_FALLBACK_FONTS = [
  '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf',
  '/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf',
];

/** Names of every variable the API reads (for docs and tests). */
export const ENV_NAMES = Object.keys(ENV_SCHEMA.properties);

/** PACS_PUBLIC_URL: an origin only, and a host Orthanc can take unquoted in a Forwarded header. */
function publicUrlOf(value: string | undefined, httpPort: number): Config['publicUrl'] {
  if (value === undefined) return { proto: 'http', host: `localhost:${httpPort}` };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`PACS_PUBLIC_URL: not a URL: "${value}"`);
  }
  const origin = (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password;
  if (!origin || url.pathname !== '/' || url.search || url.hash || !/^[A-Za-z0-9.:[\]-]{1,255}$/.test(url.host)) {
    throw new ConfigError('PACS_PUBLIC_URL: expected an origin such as https://pacs.example.org (no path, query or credentials)');
  }
  return { proto: url.protocol === 'https:' ? 'https' : 'http', host: url.host };
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const env = readEnvironment(ENV_SCHEMA, source);
  const production = env.PACS_ENV === 'production';

  if (production) {
    if (!env.PACS_JWT_SECRET) throw new ConfigError('PACS_JWT_SECRET: required in production (at least 32 random characters)');
    assertStrongSecret('PACS_JWT_SECRET', env.PACS_JWT_SECRET);
    if (!env.PACS_ADMIN_PASSWORD) throw new ConfigError('PACS_ADMIN_PASSWORD: required in production');
    if ((Object.values(DEV_PASSWORDS) as string[]).includes(env.PACS_ADMIN_PASSWORD)) {
      throw new ConfigError('PACS_ADMIN_PASSWORD: the development default is refused in production');
    }
    if (!env.PACS_METRICS_TOKEN) throw new ConfigError('PACS_METRICS_TOKEN: required in production (protects /metrics)');
    if (env.PACS_ORTHANC_URL && !env.PACS_ORTHANC_PASSWORD) throw new ConfigError('PACS_ORTHANC_PASSWORD: required in production');
    if (env.PACS_ORTHANC_URL && !env.PACS_WEBHOOK_SECRET) throw new ConfigError('PACS_WEBHOOK_SECRET: required in production');
    // Reporting needs both: the sync-server's internal API and the document tokens it verifies.
    for (const name of ['PACS_SYNC_SERVICE_TOKEN', 'PACS_DOCUMENT_TOKEN_SECRET'] as const) {
      const value = env[name];
      if (!value) throw new ConfigError(`${name}: required in production`);
      assertStrongSecret(name, value);
    }
  }
  // Development only without one: tokens die with the process, which is acceptable for a laptop.
  const { secret: jwtSecret, generated: jwtSecretGenerated } = secretOrRandom(env.PACS_JWT_SECRET);

  const dataDir = path.resolve(env.PACS_DATA_DIR);
  return {
    env: env.PACS_ENV,
    production,
    host: env.PACS_API_HOST,
    port: env.PACS_API_PORT,
    dataDir,
    databaseUrl: databaseUrlOf(env.DATABASE_URL, dataDir),
    jwtSecret,
    jwtSecretGenerated,
    accessTokenTtl: env.PACS_ACCESS_TOKEN_TTL,
    refreshTokenTtl: env.PACS_REFRESH_TOKEN_TTL,
    refreshReuseGraceSeconds: env.PACS_REFRESH_REUSE_GRACE_SECONDS,
    adminEmail: env.PACS_ADMIN_EMAIL.toLowerCase(),
    adminPassword: env.PACS_ADMIN_PASSWORD ?? DEV_PASSWORDS.admin,
    adminPasswordFromEnvironment: env.PACS_ADMIN_PASSWORD !== undefined,
    seedDemoUsers: !production,
    bcryptCost: env.PACS_BCRYPT_COST,
    loginMaxFailures: env.PACS_LOGIN_MAX_FAILURES,
    loginBackoffMaxSeconds: env.PACS_LOGIN_BACKOFF_MAX_SECONDS,
    loginRatePerMinute: env.PACS_LOGIN_RATE_PER_MINUTE,
    redisUrl: env.PACS_REDIS_URL,
    corsOrigins: env.PACS_CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    trustProxy: env.PACS_TRUST_PROXY ? addressListSetting('PACS_TRUSTED_PROXIES', env.PACS_TRUSTED_PROXIES) : false,
    cookieSecure: env.PACS_COOKIE_SECURE ?? production,
    bodyLimit: env.PACS_BODY_LIMIT,
    apiDocs: env.PACS_API_DOCS ?? !production,
    metricsToken: env.PACS_METRICS_TOKEN,
    logLevel: env.PACS_LOG_LEVEL,
    auditFoldSeconds: env.PACS_AUDIT_FOLD_SECONDS,
    anonymousRefusalsPerMinute: env.PACS_ANONYMOUS_REFUSALS_PER_MINUTE,
    orthancUrl: env.PACS_ORTHANC_URL?.replace(/\/+$/, ''),
    orthancUser: env.PACS_ORTHANC_USER,
    orthancPassword: env.PACS_ORTHANC_PASSWORD ?? '',
    // Development without a configured secret: webhooks cannot be verified, so none is accepted.
    webhookSecret: env.PACS_WEBHOOK_SECRET ?? randomBytes(32).toString('hex'),
    reconcileIntervalSeconds: env.PACS_RECONCILE_INTERVAL_SECONDS,
    metadataCacheBytes: env.PACS_DICOMWEB_METADATA_CACHE_MB * 2 ** 20,
    publicUrl: publicUrlOf(env.PACS_PUBLIC_URL, env.PACS_HTTP_PORT),
    syncUrl: env.PACS_SYNC_URL.replace(/\/+$/, ''),
    syncServiceToken: env.PACS_SYNC_SERVICE_TOKEN,
    syncTimeoutMs: env.PACS_SYNC_TIMEOUT_MS,
    // Development without a shared key: tokens the sync-server cannot verify (it refuses them).
    documentTokenSecret: env.PACS_DOCUMENT_TOKEN_SECRET ?? randomBytes(48).toString('base64url'),
    documentTokenSecretGenerated: !env.PACS_DOCUMENT_TOKEN_SECRET,
    documentTokenTtl: env.PACS_DOCUMENT_TOKEN_TTL,
    institutionName: env.PACS_INSTITUTION_NAME,
    institutionLogo: env.PACS_INSTITUTION_LOGO ? path.resolve(env.PACS_INSTITUTION_LOGO) : undefined,
    pdfFontDir: env.PACS_PDF_FONT_DIR ? path.resolve(env.PACS_PDF_FONT_DIR) : undefined,
    pdfFallbackFonts: env.PACS_PDF_FALLBACK_FONTS
      ? env.PACS_PDF_FALLBACK_FONTS.split(':')
          .filter(Boolean)
          .map((p) => path.resolve(p))
      : DEFAULT_PDF_FALLBACK_FONTS,
    hl7: {
      port: env.PACS_HL7_PORT ?? null,
      host: env.PACS_HL7_HOST ?? env.PACS_API_HOST,
      allowedSenders: addressListSetting('PACS_HL7_ALLOWED_SENDERS', env.PACS_HL7_ALLOWED_SENDERS),
      maxMessageBytes: env.PACS_HL7_MAX_MESSAGE_BYTES,
      idleTimeoutMs: env.PACS_HL7_IDLE_TIMEOUT_SECONDS * 1000,
      maxConnections: env.PACS_HL7_MAX_CONNECTIONS,
      application: env.PACS_HL7_APPLICATION,
      facility: env.PACS_HL7_FACILITY,
      fallbackCharset: env.PACS_HL7_FALLBACK_CHARSET,
      patientsFromOrders: env.PACS_HL7_PATIENTS_FROM_ORDERS,
      worklistDir: env.PACS_MWL_DIR ? path.resolve(env.PACS_MWL_DIR) : undefined,
      results: {
        destinations: destinationsSetting(env.PACS_HL7_RESULT_DESTINATIONS),
        archive: env.PACS_ARCHIVE_SIGNED_REPORTS && Boolean(env.PACS_ORTHANC_URL),
        preliminary: env.PACS_HL7_RESULT_PRELIMINARY,
        ackTimeoutMs: env.PACS_HL7_RESULT_ACK_TIMEOUT_SECONDS * 1000,
        maxAttempts: env.PACS_HL7_RESULT_MAX_ATTEMPTS,
        retryMaxMs: env.PACS_HL7_RESULT_RETRY_MAX_SECONDS * 1000,
      },
    },
    critical: criticalConfigOf(env),
    mail: mailConfigOf(env, production),
    atna: atnaConfigOf(env),
    mfa: mfaConfigOf(env, production),
    signIn: signInConfigOf(env, production),
    breakGlass: breakGlassConfigOf(env),
    signing: signingConfigOf(env, production, dataDir),
    offlineAudit: offlineAuditConfigOf(env),
  };
}
