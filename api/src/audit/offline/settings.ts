/** Settings of offline read uploads (spread into the API's settings schema). */
import { type Static, Type } from 'typebox';

export const OFFLINE_AUDIT_ENV_SCHEMA = Type.Object({
  PACS_OFFLINE_AUDIT_MAX_AGE_DAYS: Type.Integer({
    minimum: 1,
    maximum: 3650,
    default: 30,
    description: 'an offline read older than this (by its device time) is refused when uploaded',
  }),
});
type OfflineAuditEnv = Static<typeof OFFLINE_AUDIT_ENV_SCHEMA>;

export interface OfflineAuditConfig {
  maxAgeMs: number;
  /** How far ahead of the server's clock a device's clock may run. */
  maxFutureMs: number;
}

export function offlineAuditConfigOf(env: OfflineAuditEnv): OfflineAuditConfig {
  return { maxAgeMs: env.PACS_OFFLINE_AUDIT_MAX_AGE_DAYS * 86_400_000, maxFutureMs: 5 * 60_000 };
}
