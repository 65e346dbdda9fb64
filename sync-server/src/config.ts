/**
 * Every setting the sync-server reads, validated at boot. A bad value stops start-up with a message
 * that names the variable (CONF-1). ENV_NAMES lists them for the deployment docs.
 */
import type { BlockList } from 'node:net';
import path from 'node:path';
import { parseAddressList } from '@pacs/server-kit/address-list';
import { assertStrongSecret, ConfigError, databaseUrlOf, readEnvironment, secretOrRandom } from '@pacs/server-kit/config';
import { type Static, Type } from 'typebox';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ENV_SCHEMA = Type.Object({
  PACS_ENV: Type.Enum(['development', 'test', 'production'], { default: 'development' }),
  PACS_SYNC_HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'address the sync-server listens on' }),
  PACS_SYNC_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 1234, description: 'port; 0 picks a free one (tests)' }),
  PACS_DATA_DIR: Type.String({ minLength: 1, default: path.join(REPO_ROOT, 'data'), description: 'where the default SQLite file lives' }),
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^(sqlite:|postgres://|postgresql://|mssql://)',
      description: 'the API database; default sqlite:<PACS_DATA_DIR>/pacs.sqlite',
    }),
  ),
  PACS_DOCUMENT_TOKEN_SECRET: Type.Optional(
    Type.String({ minLength: 32, description: 'HMAC-SHA256 key of document tokens, shared with the API (≥ 32 chars)' }),
  ),
  PACS_SYNC_SERVICE_TOKEN: Type.Optional(
    Type.String({ minLength: 32, description: 'bearer token of the internal API (the API holds it); required in production' }),
  ),
  PACS_METRICS_TOKEN: Type.Optional(
    Type.String({ minLength: 16, description: 'bearer token for /metrics; required in production, open when unset otherwise' }),
  ),
  PACS_SYNC_TRUSTED_PROXIES: Type.String({
    default: '127.0.0.1,::1',
    description:
      'comma-separated addresses, CIDR ranges, loopback, linklocal, uniquelocal: reverse proxies whose X-Forwarded-For is believed (LIMIT-5)',
  }),
  PACS_SYNC_MAX_MESSAGE_BYTES: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
  PACS_SYNC_MAX_MESSAGES_PER_SECOND: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
  PACS_SYNC_MAX_CONNECTIONS_PER_USER: Type.Integer({ minimum: 1, maximum: 100_000, default: 20 }),
  PACS_SYNC_MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  PACS_SYNC_MAX_LOADED_DOCUMENTS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  PACS_SYNC_AUTH_FAILURES_PER_MINUTE: Type.Integer({ minimum: 1, maximum: 100_000, default: 30 }),
  PACS_SYNC_DEBOUNCE_MS: Type.Integer({ minimum: 0, maximum: 1000, default: 250 }),
  PACS_SYNC_COMPACT_AFTER_UPDATES: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 200 }),
  PACS_SYNC_UNLOAD_DELAY_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 10_000 }),
  PACS_SYNC_SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  PACS_SYNC_REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description: 'Redis for scale-out (SPEC.md SCALE-*): several instances share documents through its pub/sub; unset = one instance',
    }),
  ),
  PACS_LOG_LEVEL: Type.Enum([...LOG_LEVELS], { default: 'info' }),
});
type Env = Static<typeof ENV_SCHEMA>;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface SyncConfig {
  env: Env['PACS_ENV'];
  production: boolean;
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  /** HMAC key of document tokens. */
  tokenSecret: string;
  /** True when no key was configured and a random one was made for this process (development). */
  tokenSecretGenerated: boolean;
  /** Bearer of the internal API; undefined → the internal API answers 503 (development only). */
  serviceToken: string | undefined;
  metricsToken: string | undefined;
  /** Reverse proxies whose X-Forwarded-For names the client (LIMIT-5). */
  trustedProxies: BlockList;
  maxMessageBytes: number;
  maxMessagesPerSecond: number;
  maxConnectionsPerUser: number;
  maxConnections: number;
  maxLoadedDocuments: number;
  authFailuresPerMinute: number;
  debounceMs: number;
  compactAfterUpdates: number;
  unloadDelayMs: number;
  shutdownTimeoutMs: number;
  /** Redis of the scale-out bus; undefined → a single instance, no Redis (SCALE-*). */
  redisUrl: string | undefined;
  logLevel: LogLevel;
}

export { ConfigError };

/** Names of every variable the sync-server reads (for docs and tests). */
export const ENV_NAMES = Object.keys(ENV_SCHEMA.properties);

/** One line per variable: name, default, meaning. For the deployment docs. */
export function describeEnv(): { name: string; default: unknown; description: string }[] {
  return Object.entries(ENV_SCHEMA.properties).map(([name, schema]) => {
    const s = schema as { default?: unknown; description?: string };
    return { name, default: s.default, description: s.description ?? '' };
  });
}

export function loadConfig(source: Record<string, string | undefined> = process.env): SyncConfig {
  const env: Env = readEnvironment(ENV_SCHEMA, source);
  const production = env.PACS_ENV === 'production';

  if (production) {
    if (!env.PACS_DOCUMENT_TOKEN_SECRET)
      throw new ConfigError('PACS_DOCUMENT_TOKEN_SECRET: required in production (the key the API signs document tokens with)');
    assertStrongSecret('PACS_DOCUMENT_TOKEN_SECRET', env.PACS_DOCUMENT_TOKEN_SECRET);
    if (!env.PACS_SYNC_SERVICE_TOKEN) throw new ConfigError('PACS_SYNC_SERVICE_TOKEN: required in production (protects the internal API)');
    assertStrongSecret('PACS_SYNC_SERVICE_TOKEN', env.PACS_SYNC_SERVICE_TOKEN);
    // OPS-2: metrics name documents' load and users' activity; never open in production.
    if (!env.PACS_METRICS_TOKEN) throw new ConfigError('PACS_METRICS_TOKEN: required in production (protects /metrics)');
  }
  let trustedProxies: BlockList;
  try {
    trustedProxies = parseAddressList(env.PACS_SYNC_TRUSTED_PROXIES);
  } catch (error) {
    throw new ConfigError(`PACS_SYNC_TRUSTED_PROXIES: ${(error as Error).message}`);
  }
  // Development only without one: no token signed by the API verifies; tests sign with the config's key.
  const { secret: tokenSecret, generated: tokenSecretGenerated } = secretOrRandom(env.PACS_DOCUMENT_TOKEN_SECRET);

  const dataDir = path.resolve(env.PACS_DATA_DIR);
  return {
    env: env.PACS_ENV,
    production,
    host: env.PACS_SYNC_HOST,
    port: env.PACS_SYNC_PORT,
    dataDir,
    databaseUrl: databaseUrlOf(env.DATABASE_URL, dataDir),
    tokenSecret,
    tokenSecretGenerated,
    serviceToken: env.PACS_SYNC_SERVICE_TOKEN,
    metricsToken: env.PACS_METRICS_TOKEN,
    trustedProxies,
    maxMessageBytes: env.PACS_SYNC_MAX_MESSAGE_BYTES,
    maxMessagesPerSecond: env.PACS_SYNC_MAX_MESSAGES_PER_SECOND,
    maxConnectionsPerUser: env.PACS_SYNC_MAX_CONNECTIONS_PER_USER,
    maxConnections: env.PACS_SYNC_MAX_CONNECTIONS,
    maxLoadedDocuments: env.PACS_SYNC_MAX_LOADED_DOCUMENTS,
    authFailuresPerMinute: env.PACS_SYNC_AUTH_FAILURES_PER_MINUTE,
    debounceMs: env.PACS_SYNC_DEBOUNCE_MS,
    compactAfterUpdates: env.PACS_SYNC_COMPACT_AFTER_UPDATES,
    unloadDelayMs: env.PACS_SYNC_UNLOAD_DELAY_MS,
    shutdownTimeoutMs: env.PACS_SYNC_SHUTDOWN_TIMEOUT_MS,
    redisUrl: env.PACS_SYNC_REDIS_URL,
    logLevel: env.PACS_LOG_LEVEL,
  };
}
