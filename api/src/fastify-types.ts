/**
 * What every route declares (`config.access`, optionally `config.audit`) and what the plugins
 * add to the app and to each request. The type checker follows these; no string registries.
 */
import type { Action, AuditAction, AuditEventId, Role } from '@pacs/shared';
import type { Sequelize } from 'sequelize';
import type { AuditRecorder, AuditSubject } from './audit/recorder';
import type { RefreshTokens } from './auth/refresh-tokens';
import type { Config } from './config';
import type { Models } from './db/models';

/**
 * A permission from the matrix; `public` for routes anyone may call (login, health); `webhook`
 * for service calls that carry their own signature instead of a user token.
 */
export type RouteAccess = Action | 'public' | 'webhook';

export interface RouteAudit {
  eventId: AuditEventId;
  action: AuditAction;
  objectType?: string;
  /** Reads of patient data: if the audit row cannot be written, the data is not sent. */
  phi?: boolean;
}

export interface Principal {
  userId: string;
  role: Role;
  email: string;
  name: string;
  /** A referrer's provider id at the hospital; '' for everyone else. */
  providerId: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    audit?: RouteAudit;
  }
  interface FastifyInstance {
    config: Config;
    db: { sequelize: Sequelize; models: Models };
    audit: AuditRecorder;
    refreshTokens: RefreshTokens;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** The login session (refresh-token family) the access token belongs to, when it says. */
    sessionId: string | null;
    /** Object of the audit row this request writes; routes fill it in as they learn it. */
    auditSubject: AuditSubject;
    /** Set once the route wrote its own audit row (inside its transaction). */
    auditRecorded: boolean;
    /** Why the request failed, for the audit row (never sent to logs with PHI). */
    failureReason: string | null;
    /** Emergency access windows through which this request read restricted patient data (its audit row names them). */
    emergencyAccess: string[] | null;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role: Role; sid?: string };
    user: { sub: string; role: Role; sid?: string; aud: string; iss: string; iat: number; exp: number };
  }
}
