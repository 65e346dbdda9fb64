/**
 * Reading settings from the environment, the same way in the API and the sync-server: each
 * service declares its variables as one TypeBox schema, and a bad value stops start-up with a
 * message naming the variable.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Static, TObject } from 'typebox';
import { Value } from 'typebox/value';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The variables `schema` names, from `source`, converted (strings to numbers and booleans) and
 * defaulted. An empty value counts as unset. Throws one ConfigError listing every bad variable.
 */
export function readEnvironment<Schema extends TObject>(schema: Schema, source: Record<string, string | undefined>): Static<Schema> {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(schema.properties)) {
    const value = source[name];
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const converted = Value.Default(schema, Value.Convert(schema, raw));
  if (!Value.Check(schema, converted)) {
    const problems = Value.Errors(schema, converted).map((e) => `${e.instancePath.replace(/^\//, '') || '(root)'}: ${e.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return converted as Static<Schema>;
}

const WEAK_SECRETS = /^(secret|changeme|change-me|password|development|test)+$/i;

/** A production secret must not be a placeholder or a short alphabet. */
export function assertStrongSecret(name: string, value: string): void {
  if (WEAK_SECRETS.test(value) || new Set(value).size < 10) {
    throw new ConfigError(`${name}: too weak; use at least 32 random characters (e.g. openssl rand -base64 48)`);
  }
}

/**
 * A secret from the environment, or else a random one that dies with the process: for
 * development only (each service requires its secrets in production before it gets here).
 */
export function secretOrRandom(value: string | undefined): { secret: string; generated: boolean } {
  return value ? { secret: value, generated: false } : { secret: randomBytes(48).toString('base64url'), generated: true };
}

/** DATABASE_URL, or else the one SQLite file under the data directory that both services open. */
export function databaseUrlOf(databaseUrl: string | undefined, dataDir: string): string {
  return databaseUrl ?? `sqlite:${path.join(dataDir, 'pacs.sqlite')}`;
}
