/**
 * Settings of the critical-results loop and of outgoing e-mail, read with the API's other settings
 * (config.ts spreads this schema into its own, so DEPLOYMENT.md's check covers them).
 */

import { ConfigError } from '@pacs/server-kit/config';
import { type CriticalCategory, parseCriticalLimits } from '@pacs/shared';
import { type Static, Type } from 'typebox';

export const CRITICAL_ENV_SCHEMA = Type.Object({
  PACS_CRITICAL_LIMITS: Type.String({
    default: '',
    description:
      'time to acknowledgement per category, e.g. red=60m,orange=3h,yellow=3d (s, m, h, d); unnamed categories keep these defaults',
  }),
  PACS_CRITICAL_ESCALATION_EMAILS: Type.String({
    default: '',
    description:
      'the department list told when a critical result is still unacknowledged one limit after the attending was: comma-separated e-mail addresses',
  }),
  PACS_CRITICAL_CHECK_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 30,
    description: 'how often overdue critical results are looked for',
  }),
  PACS_SMTP_URL: Type.Optional(
    Type.String({
      pattern: '^smtps?://',
      description: 'outgoing mail server, smtp://user:password@host:587 (STARTTLS when offered) or smtps://…:465; unset = no e-mail',
    }),
  ),
  PACS_SMTP_REQUIRE_TLS: Type.Optional(Type.Boolean({ description: 'refuse to send without STARTTLS; default true in production' })),
  PACS_MAIL_FROM: Type.String({ minLength: 3, maxLength: 254, default: 'PACS <pacs@localhost>', description: 'the From of notifications' }),
});
type CriticalEnv = Static<typeof CRITICAL_ENV_SCHEMA>;

export interface CriticalConfig {
  limitsMs: Record<CriticalCategory, number>;
  escalationEmails: string[];
  checkIntervalMs: number;
}

export interface MailConfig {
  /** Undefined: no e-mail is sent (notifications stay in the app and the HL7 result). */
  smtpUrl: string | undefined;
  requireTls: boolean;
  from: string;
}

const EMAIL = /^[^\s@<>",;]{1,64}@[A-Za-z0-9.-]{1,253}$/;

export function criticalConfigOf(env: CriticalEnv): CriticalConfig {
  let limitsMs: Record<CriticalCategory, number>;
  try {
    limitsMs = parseCriticalLimits(env.PACS_CRITICAL_LIMITS);
  } catch (error) {
    throw new ConfigError(`PACS_CRITICAL_LIMITS: ${(error as Error).message}`);
  }
  const escalationEmails = env.PACS_CRITICAL_ESCALATION_EMAILS.split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const bad = escalationEmails.find((entry) => !EMAIL.test(entry));
  if (bad !== undefined) throw new ConfigError(`PACS_CRITICAL_ESCALATION_EMAILS: '${bad}' is not an e-mail address`);
  return { limitsMs, escalationEmails, checkIntervalMs: env.PACS_CRITICAL_CHECK_SECONDS * 1000 };
}

export function mailConfigOf(env: CriticalEnv, production: boolean): MailConfig {
  if (env.PACS_SMTP_URL) {
    try {
      new URL(env.PACS_SMTP_URL);
    } catch {
      throw new ConfigError('PACS_SMTP_URL: not a URL');
    }
  }
  return { smtpUrl: env.PACS_SMTP_URL, requireTls: env.PACS_SMTP_REQUIRE_TLS ?? production, from: env.PACS_MAIL_FROM };
}
