/**
 * Authentication and authorisation for every route, deny by default:
 * - registering a route without `config.access` fails at start-up;
 * - `access: 'public'` routes are open; every other route needs a valid access token of an
 *   active user whose current role the matrix allows for that action.
 * The user row is read on every request, so deactivation, a role change or a password change
 * takes effect at the next request rather than at token expiry; so does a logout (the token's
 * session id is refused).
 */
import jwt from '@fastify/jwt';
import { type Action, can, isRole } from '@pacs/shared';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AnonymousRefusals } from '../auth/anonymous-refusals';
import { PrincipalCache, principalOf } from '../auth/principal-cache';
import { SessionRevocations } from '../auth/session-revocations';
import type { Principal, RouteAccess } from '../fastify-types';
import { forbidden, HttpError, unauthorized } from '../http-errors';

export const ACCESS_TOKEN_AUDIENCE = 'pacs-api';
export const TOKEN_ISSUER = 'pacs-api';

export interface RegisteredRoute {
  method: string;
  url: string;
  access: RouteAccess;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its declared access, for the route × role test and the docs. */
    routeTable: RegisteredRoute[];
    signAccessToken(user: { id: string; role: string }, sessionId?: string): string;
    principals: PrincipalCache;
    /** Sessions ended by logout: their access tokens are refused before they expire. */
    sessionRevocations: SessionRevocations;
  }
}

export default fp<{ principalCacheTtlMs?: number }>(
  async (app, options) => {
    await app.register(jwt, {
      secret: app.config.jwtSecret,
      sign: { algorithm: 'HS256', aud: ACCESS_TOKEN_AUDIENCE, iss: TOKEN_ISSUER, expiresIn: `${app.config.accessTokenTtl}s` },
      verify: {
        algorithms: ['HS256'],
        allowedAud: ACCESS_TOKEN_AUDIENCE,
        allowedIss: TOKEN_ISSUER,
        requiredClaims: ['sub', 'role', 'iat', 'exp', 'aud', 'iss'],
        // Verified tokens are cached until they expire: saves the HMAC and JSON work per request.
        cache: 10_000,
      },
    });

    app.decorate('principals', new PrincipalCache(app.db.models, options.principalCacheTtlMs));

    const sessionRevocations = new SessionRevocations(app.config.accessTokenTtl * 1000);
    app.decorate('sessionRevocations', sessionRevocations);
    // Before the first request: a logout just before a restart still counts.
    app.addHook('onReady', async () => {
      await sessionRevocations.loadFrom(app.db.models);
    });

    app.decorate('signAccessToken', (user: { id: string; role: string }, sessionId?: string) =>
      app.jwt.sign({ sub: user.id, role: user.role as Principal['role'], ...(sessionId ? { sid: sessionId } : {}) }),
    );

    const routeTable: RegisteredRoute[] = [];
    app.decorate('routeTable', routeTable);
    app.addHook('onRoute', (route) => {
      const access = route.config?.access;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      if (access === undefined) {
        throw new Error(`route ${methods.join(',')} ${route.url} declares no config.access (deny by default)`);
      }
      if (access !== 'public' && access !== 'webhook') {
        route.schema = { ...route.schema, security: [{ bearerAuth: [] }] };
      }
      for (const method of methods) {
        if (method !== 'HEAD') routeTable.push({ method, url: route.url, access });
      }
    });

    const anonymousRefusals = new AnonymousRefusals(app.config.anonymousRefusalsPerMinute);
    app.decorateRequest('principal', null);
    app.decorateRequest('sessionId', null);
    app.decorateRequest('auditRecorded', false);
    app.decorateRequest('failureReason', null);
    app.decorateRequest('emergencyAccess', null);
    app.decorateRequest('auditSubject');
    app.addHook('onRequest', async (request) => {
      request.auditSubject = {};
      const access = request.routeOptions.config.access;
      // Undeclared only for the not-found handler and the static docs assets.
      if (access === undefined || access === 'public' || access === 'webhook') return;
      try {
        request.principal = await authenticate(request);
      } catch (error) {
        const retryAfter = anonymousRefusals.refuse(request.ip);
        if (retryAfter > 0) {
          throw new HttpError(429, 'too many unauthenticated requests from this address', 'TOO_MANY_REFUSALS', {
            'retry-after': String(retryAfter),
          });
        }
        throw error;
      }
      request.sessionId = typeof request.user?.sid === 'string' ? request.user.sid : null;
      if (!can(request.principal.role, access as Action)) {
        throw forbidden(`role '${request.principal.role}' may not ${access}`, 'PERMISSION_DENIED');
      }
    });
  },
  { name: 'access-control', dependencies: ['database'] },
);

async function authenticate(request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  if (!header || !/^Bearer [A-Za-z0-9_.-]+$/.test(header)) {
    throw unauthorized('a bearer access token is required', 'TOKEN_MISSING');
  }
  let claims: FastifyRequest['user'];
  try {
    claims = await request.jwtVerify();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') throw unauthorized('access token expired', 'TOKEN_EXPIRED');
    throw unauthorized('access token invalid', 'TOKEN_INVALID');
  }
  if (typeof claims.sub !== 'string' || !isRole(claims.role)) throw unauthorized('access token invalid', 'TOKEN_INVALID');
  if (typeof claims.sid === 'string' && request.server.sessionRevocations.isRevoked(claims.sid)) {
    throw unauthorized('session ended; log in again', 'SESSION_ENDED');
  }

  const user = await request.server.principals.get(claims.sub);
  if (!user?.active) throw unauthorized('account inactive', 'ACCOUNT_INACTIVE');
  if (user.role !== claims.role) throw unauthorized('role changed; refresh the session', 'ROLE_CHANGED');
  // iat has second resolution; a token issued in the same second as the change stays valid.
  if (claims.iat < Math.floor(new Date(user.passwordChangedAt).getTime() / 1000)) {
    throw unauthorized('password changed; log in again', 'PASSWORD_CHANGED');
  }
  return principalOf(user);
}
