/**
 * Login, refresh (rotating refresh token in an httpOnly cookie), logout, me and password change.
 */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  type ErrorCode,
  ErrorResponse,
  LoginRequest,
  LoginResponse,
  LogoutResponse,
  PasswordChangeRequest,
  RefreshRequest,
  SessionResponse,
  User,
} from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { auditInTransaction } from '../audit/recorder';
import { forbidden, HttpError, unauthorized } from '../http-errors';
import { presentUser } from '../users/present';
import { LoginThrottle } from './login-throttle';
import { CHALLENGE_TTL_MS } from './mfa/challenge';
import { assertAcceptablePassword, burnPasswordCheck, hashPassword, verifyPassword, warmDummyHash } from './passwords';
import { principalOf } from './principal-cache';
import { type RefreshFailure, RefreshRejected } from './refresh-tokens';
import { createSessionIssuer, MFA_DEVICE_COOKIE, REFRESH_COOKIE } from './session-issuer';
import { DEVICE_REVOKED } from './session-revocations';
import { SSO_ONLY_PASSWORD_HASH } from './sso/accounts';

export { REFRESH_COOKIE };

/** The code of each way a refresh token is refused: REFRESH_ and the reason. */
const REFRESH_REFUSAL_CODES: Record<RefreshFailure, ErrorCode> = {
  unknown: 'REFRESH_UNKNOWN',
  reused: 'REFRESH_REUSED',
  expired: 'REFRESH_EXPIRED',
  revoked: 'REFRESH_REVOKED',
  inactive: 'REFRESH_INACTIVE',
};

export default async function authRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config } = app;
  const { models, sequelize } = app.db;
  const throttle = new LoginThrottle({
    perAccountFromAddress: config.loginMaxFailures,
    perAddress: config.loginMaxFailures * 4,
    maxDelayMs: config.loginBackoffMaxSeconds * 1000,
  });
  warmDummyHash(config.bcryptCost);

  const { setRefreshCookie, clearRefreshCookie, session, signIn, vaultKey } = createSessionIssuer(app);

  app.post(
    '/api/auth/login',
    {
      config: {
        access: 'public',
        audit: { eventId: 'UserAuthentication', action: 'E', objectType: 'User' },
        rateLimit: { max: config.loginRatePerMinute, timeWindow: 60_000 },
      },
      schema: {
        tags: ['auth'],
        summary: 'Log in; sets the refresh cookie',
        body: LoginRequest,
        response: { 200: LoginResponse, 401: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const email = request.body.email.trim().toLowerCase();
      request.auditSubject.details = { email };
      if (!config.signIn.localLogin)
        throw forbidden('e-mail and password sign-in is turned off; use the hospital sign-in', 'LOCAL_LOGIN_DISABLED');
      const waitMs = throttle.waitMs(email, request.ip);
      if (waitMs > 0) {
        // No password is checked while waiting, so a refused attempt neither counts nor tells anything.
        throw new HttpError(429, 'too many failed logins; try again later', 'LOGIN_THROTTLED', {
          'retry-after': String(Math.ceil(waitMs / 1000)),
        });
      }
      const user = await models.User.findOne({ where: { email } });
      // Unknown accounts cost one hash comparison as well: the time taken does not tell them apart.
      // An account that signs in only through the provider has no hash: it costs the same time too.
      const passwordMatches =
        user && user.get('passwordHash') !== SSO_ONLY_PASSWORD_HASH
          ? await verifyPassword(request.body.password, user.get('passwordHash'))
          : await burnPasswordCheck(request.body.password, config.bcryptCost);
      if (!user || !passwordMatches) {
        throttle.failed(email, request.ip);
        throw unauthorized('invalid email or password', 'INVALID_CREDENTIALS');
      }
      const row = user.get();
      request.auditSubject.objectId = row.id;
      throttle.succeeded(email, request.ip);
      if (!row.active) throw unauthorized('account deactivated', 'ACCOUNT_INACTIVE');

      // A second factor in force (or one the role must have): the session waits for it, unless this
      // device passed it recently.
      const step = app.secondFactor.due(row);
      if (step === 'verify' && (await app.secondFactor.isRememberedDevice(row.id, request.cookies[MFA_DEVICE_COOKIE]))) {
        return signIn(request, reply, row, { secondFactor: 'remembered device' });
      }
      if (step) {
        request.auditSubject.details = { email, event: 'password-accepted', secondFactor: step };
        return { mfa: step, challenge: app.mfaChallenges.sign(row.id, row.passwordChangedAt), expiresIn: CHALLENGE_TTL_MS / 1000 };
      }
      return signIn(request, reply, row);
    },
  );

  app.post(
    '/api/auth/refresh',
    {
      config: { access: 'public', audit: { eventId: 'UserAuthentication', action: 'E', objectType: 'User' } },
      schema: {
        tags: ['auth'],
        summary: 'Exchange the refresh cookie for a new access token (rotates the cookie); a revoked device is told to wipe',
        body: RefreshRequest,
        response: { 200: SessionResponse, 401: ErrorResponse },
      },
      // Clients that keep no device identity send no body at all.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
    },
    async (request, reply) => {
      const token = request.cookies[REFRESH_COOKIE];
      if (await app.devices.mustWipe(request.body.device)) {
        // Whatever the cookie: this device must wipe before it gets another session.
        const family = token ? await app.refreshTokens.familyOf(token) : null;
        if (family) {
          await app.refreshTokens.revokeFamily(family.familyId, DEVICE_REVOKED);
          app.sessionRevocations.revoke(family.familyId);
        }
        clearRefreshCookie(reply);
        request.auditSubject = { objectId: family?.userId, details: { event: 'refresh', rejected: 'device-revoked' } };
        throw unauthorized('this device was revoked; remove its offline data and sign in again', 'DEVICE_REVOKED');
      }
      if (!token) throw unauthorized('no refresh token', 'REFRESH_MISSING');
      try {
        const rotated = await app.refreshTokens.rotate(token, config.refreshReuseGraceSeconds);
        if (rotated.deviceId) await app.devices.touch(rotated.deviceId);
        // A session begun by a navigation (single sign-on) could not name its device: it does now.
        const adopted =
          rotated.deviceId === null && request.body.device
            ? await app.devices.adopt(rotated.user.id, rotated.familyId, request.body.device, request.headers['user-agent'])
            : null;
        // A session that began at the provider goes on only while the provider agrees.
        const provider = app.sso ? await app.sso.sessions.recheck(rotated.familyId) : ({ kind: 'local' } as const);
        if (provider.kind === 'ended') {
          await app.refreshTokens.revokeFamily(rotated.familyId, 'sso-ended');
          app.sessionRevocations.revoke(rotated.familyId);
          clearRefreshCookie(reply);
          request.auditSubject = {
            objectId: rotated.user.id,
            details: { event: 'refresh', rejected: 'sso-ended', detail: provider.detail },
          };
          throw unauthorized('the hospital sign-in ended this session', 'SSO_SESSION_ENDED');
        }
        // The provider's groups may have changed the role just now: the new token carries it.
        const user = provider.kind === 'kept' && provider.roleChange ? { ...rotated.user, role: provider.roleChange.to } : rotated.user;
        request.principal = principalOf(user);
        // A grace re-issue is told apart: a run of them is how a replay inside the window would show.
        const details: Record<string, unknown> = rotated.grace
          ? { event: 'refresh-grace', rotatedMsAgo: rotated.grace.rotatedMsAgo }
          : { event: 'refresh' };
        if (provider.kind === 'kept') {
          details.sso = provider.providerReached ? 'confirmed' : 'provider-not-asked';
          if (provider.roleChange) details.roleChange = provider.roleChange;
        }
        request.auditSubject = { objectId: user.id, details };
        setRefreshCookie(reply, rotated.token, rotated.expiresAt);
        const deviceId = rotated.deviceId ?? adopted;
        const proven = deviceId !== null && (await app.devices.proves(user.id, deviceId, request.body.device));
        return {
          ...session(user, rotated.familyId),
          ...(adopted ? { device: { id: adopted } } : {}),
          ...(proven ? { deviceKey: vaultKey(user.id, deviceId) } : {}),
        };
      } catch (error) {
        if (!(error instanceof RefreshRejected)) throw error;
        clearRefreshCookie(reply);
        request.auditSubject = { objectId: error.userId ?? undefined, details: { event: 'refresh', rejected: error.reason } };
        if (error.reason === 'reused') {
          // The access tokens of the leaked session die with its refresh tokens.
          if (error.familyId) app.sessionRevocations.revoke(error.familyId);
          // A leaked token: the family is revoked; record it as a security alert as well.
          await app.audit.record({
            eventId: 'SecurityAlert',
            action: 'E',
            outcome: 8,
            userId: error.userId,
            networkAddress: request.ip,
            requestId: request.id,
            objectType: 'RefreshToken',
            details: { reason: 'refresh token reuse; session family revoked', reuse: error.reuse },
          });
        }
        throw unauthorized(`refresh token ${error.reason}`, REFRESH_REFUSAL_CODES[error.reason]);
      }
    },
  );

  app.post(
    '/api/auth/logout',
    {
      config: { access: 'session:self', audit: { eventId: 'UserAuthentication', action: 'E', objectType: 'User' } },
      schema: {
        tags: ['auth'],
        summary: "Log out: revoke this session and clear the cookie; after a single sign-on, also where to end the provider's session",
        response: { 200: LogoutResponse },
      },
    },
    async (request, reply) => {
      const token = request.cookies[REFRESH_COOKIE];
      const principal = request.principal!;
      request.auditSubject = { objectId: principal.userId, details: { event: 'logout' } };
      // The session of the access token, and the one of the cookie (the same one, from a browser).
      const sessions = new Set(request.sessionId ? [request.sessionId] : []);
      if (token) {
        const family = await app.refreshTokens.familyOf(token);
        if (family && family.userId === principal.userId) sessions.add(family.familyId);
      }
      let endSessionUrl: string | null = null;
      for (const sessionId of sessions) {
        await app.refreshTokens.revokeFamily(sessionId, 'logout');
        app.sessionRevocations.revoke(sessionId);
        if (app.sso) endSessionUrl = (await app.sso.sessions.endSessionUrl(sessionId, app.sso.postLogoutUrl)) ?? endSessionUrl;
      }
      clearRefreshCookie(reply);
      return { endSessionUrl };
    },
  );

  app.get(
    '/api/auth/me',
    {
      config: { access: 'session:self' },
      schema: { tags: ['auth'], summary: 'The signed-in user', response: { 200: User } },
    },
    async (request) => {
      // The access check has just read this user (or its cached row); no second query.
      const user = await app.principals.get(request.principal!.userId);
      if (!user) throw unauthorized('account inactive', 'ACCOUNT_INACTIVE');
      return presentUser(user);
    },
  );

  app.post(
    '/api/auth/password',
    {
      config: { access: 'session:self', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'User' } },
      schema: {
        tags: ['auth'],
        summary: 'Change my password; other sessions are logged out',
        body: PasswordChangeRequest,
        response: { 200: SessionResponse, 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      request.auditSubject = { objectId: principal.userId, details: { event: 'password-change' } };
      assertAcceptablePassword(request.body.newPassword, principal);
      const user = await models.User.findByPk(principal.userId);
      if (!user) throw unauthorized('account inactive', 'ACCOUNT_INACTIVE');
      if (!(await verifyPassword(request.body.currentPassword, user.get('passwordHash')))) {
        throw new HttpError(400, 'current password is wrong', 'WRONG_PASSWORD');
      }
      const passwordHash = await hashPassword(request.body.newPassword, config.bcryptCost);
      const deviceId = request.sessionId ? ((await app.refreshTokens.session(request.sessionId))?.deviceId ?? null) : null;
      // Whole seconds, so this request's new access token (iat in seconds) is not itself stale.
      const changedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const issued = await sequelize.transaction(async (transaction) => {
        await user.update({ passwordHash, passwordChangedAt: changedAt }, { transaction });
        await app.refreshTokens.revokeAllForUser(principal.userId, 'password-change', transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'User',
          objectId: principal.userId,
          details: { event: 'password-change' },
        });
        return app.refreshTokens.issue(principal.userId, undefined, transaction, undefined, deviceId);
      });
      setRefreshCookie(reply, issued.token, issued.expiresAt);
      return session(user.get(), issued.familyId);
    },
  );
}
