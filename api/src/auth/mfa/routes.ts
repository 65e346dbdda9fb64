/**
 * The second factor over HTTP. At login (after a correct password, with the challenge the login
 * answered): verify a code or a recovery code, or enrol when the role requires a factor the user
 * does not have yet. Signed in: see, set up or turn off one's own factor. Admins: reset a user's.
 * Wrong codes slow the account down like wrong passwords; every outcome is audited.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  EnrolledSession,
  ErrorResponse,
  IdParams,
  MfaCodeRequest,
  MfaConfirmAtLoginRequest,
  MfaEnrolment,
  MfaEnrolRequest,
  MfaStatus,
  MfaVerifyRequest,
  RecoveryCodes,
  SessionResponse,
} from '@pacs/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { auditInTransaction } from '../../audit/recorder';
import type { UserAttributes } from '../../db/models';
import { conflict, HttpError, notFound, unauthorized } from '../../http-errors';
import { LoginThrottle } from '../login-throttle';
import { AUTH_COOKIE_PATH, createSessionIssuer, MFA_DEVICE_COOKIE } from '../session-issuer';

export default async function mfaRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config } = app;
  const { models, sequelize } = app.db;
  const factor = app.secondFactor;
  const { signIn } = createSessionIssuer(app);
  // Five wrong codes for one account (from one address), then 1 s, 2 s, … up to 5 minutes.
  const throttle = new LoginThrottle({ perAccountFromAddress: 5, perAddress: 20, maxDelayMs: 300_000 });
  const tags = ['auth'];
  const loginAudit = { eventId: 'UserAuthentication', action: 'E', objectType: 'User' } as const;

  /** The user behind a login challenge: active, and with the password the challenge was earned with. */
  async function challenged(request: FastifyRequest, token: string): Promise<UserAttributes> {
    const challenge = app.mfaChallenges.verify(token);
    const user = challenge ? await models.User.findByPk(challenge.userId, { raw: true }) : null;
    if (!challenge || !user?.active || new Date(user.passwordChangedAt).getTime() !== challenge.passwordAt) {
      throw unauthorized('the sign-in step has expired or is not valid; log in again', 'MFA_CHALLENGE_INVALID');
    }
    request.auditSubject = { objectId: user.id, details: { email: user.email } };
    assertNotThrottled(request, user.id);
    return user;
  }

  /** Past five wrong codes, no code is checked until the back-off has passed. */
  function assertNotThrottled(request: FastifyRequest, userId: string): void {
    const waitMs = throttle.waitMs(userId, request.ip);
    if (waitMs > 0) {
      throw new HttpError(429, 'too many wrong codes; try again later', 'MFA_THROTTLED', {
        'retry-after': String(Math.ceil(waitMs / 1000)),
      });
    }
  }

  /** The signed-in user's whole row (the principal carries no second-factor columns). */
  async function signedInUser(request: FastifyRequest): Promise<UserAttributes> {
    const user = await models.User.findByPk(request.principal!.userId, { raw: true });
    if (!user) throw unauthorized('account inactive', 'ACCOUNT_INACTIVE');
    return user;
  }

  function wrongCode(request: FastifyRequest, user: UserAttributes, kind: string): never {
    throttle.failed(user.id, request.ip);
    request.auditSubject = { objectId: user.id, details: { email: user.email, event: 'second-factor-refused', kind } };
    throw unauthorized('that code is not valid (wrong, expired or already used)', 'MFA_CODE_INVALID');
  }

  const setDeviceCookie = (reply: FastifyReply, token: string, expiresAt: Date) =>
    reply.setCookie(MFA_DEVICE_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: config.cookieSecure,
      path: AUTH_COOKIE_PATH,
      expires: expiresAt,
    });

  app.post(
    '/api/auth/mfa/verify',
    {
      config: { access: 'public', audit: loginAudit, rateLimit: { max: config.loginRatePerMinute, timeWindow: 60_000 } },
      schema: {
        tags,
        summary: 'Second step of a login: a code from the authenticator app, or a recovery code',
        body: MfaVerifyRequest,
        response: { 200: SessionResponse, 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const user = await challenged(request, body.challenge);
      if ('code' in body) {
        if (!(await factor.verifyCode(user, body.code))) wrongCode(request, user, 'code');
        throttle.succeeded(user.id, request.ip);
        if (body.rememberDevice) {
          const device = await factor.rememberDevice(user.id, String(request.headers['user-agent'] ?? ''));
          if (device) setDeviceCookie(reply, device.token, device.expiresAt);
        }
        return signIn(request, reply, user, { secondFactor: 'totp', rememberDevice: body.rememberDevice === true });
      }
      if (!(await factor.useRecoveryCode(user, body.recoveryCode))) wrongCode(request, user, 'recovery code');
      throttle.succeeded(user.id, request.ip);
      return signIn(request, reply, user, { secondFactor: 'recovery code', recoveryCodesLeft: await factor.recoveryCodesLeft(user.id) });
    },
  );

  app.post(
    '/api/auth/mfa/enrol',
    {
      config: { access: 'public', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'User' } },
      schema: {
        tags,
        summary: 'At a login whose role requires a second factor not yet set up: a new secret to scan',
        body: MfaEnrolRequest,
        response: { 200: MfaEnrolment, 401: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request) => {
      const user = await challenged(request, request.body.challenge);
      request.auditSubject = { objectId: user.id, details: { event: 'second-factor-enrolment-started' } };
      return factor.beginEnrolment(user);
    },
  );

  app.post(
    '/api/auth/mfa/enrol/confirm',
    {
      config: { access: 'public', audit: loginAudit },
      schema: {
        tags,
        summary: 'Confirm the new secret with a code from it: the factor is in force, the session starts; recovery codes shown once',
        body: MfaConfirmAtLoginRequest,
        response: { 200: EnrolledSession, 401: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const user = await challenged(request, request.body.challenge);
      const recoveryCodes = await sequelize.transaction(async (transaction) => {
        const codes = await factor.confirmEnrolment(user, request.body.code, transaction);
        if (codes) await auditEnabled(request, user.id, transaction);
        return codes;
      });
      if (!recoveryCodes) wrongCode(request, user, 'enrolment code');
      throttle.succeeded(user.id, request.ip);
      const enrolled = (await models.User.findByPk(user.id, { raw: true }))!;
      return { ...(await signIn(request, reply, enrolled, { secondFactor: 'enrolled' })), recoveryCodes };
    },
  );

  const auditEnabled = (request: FastifyRequest, userId: string, transaction: Parameters<typeof auditInTransaction>[1]) =>
    auditInTransaction(request, transaction, {
      eventId: 'SecurityAlert',
      action: 'U',
      objectType: 'User',
      objectId: userId,
      details: { event: 'second-factor-enabled' },
    });

  app.get(
    '/api/auth/mfa',
    {
      config: { access: 'session:self' },
      schema: { tags, summary: 'My second factor: in force, required for my role, recovery codes left', response: { 200: MfaStatus } },
    },
    async (request) => {
      const user = await signedInUser(request);
      return {
        enabled: user.mfaEnabledAt !== null,
        required: factor.requiredFor(user.role),
        recoveryCodesLeft: await factor.recoveryCodesLeft(user.id),
      };
    },
  );

  app.post(
    '/api/auth/mfa/setup',
    {
      config: { access: 'session:self', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'User' } },
      schema: {
        tags,
        summary: 'Set up a second factor for my account: a new secret to scan',
        response: { 200: MfaEnrolment, 409: ErrorResponse },
      },
    },
    async (request) => {
      const user = await signedInUser(request);
      request.auditSubject = { objectId: user.id, details: { event: 'second-factor-enrolment-started' } };
      return factor.beginEnrolment(user);
    },
  );

  app.post(
    '/api/auth/mfa/activate',
    {
      config: { access: 'session:self', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'User' } },
      schema: {
        tags,
        summary: 'Confirm my new secret with a code: the factor is in force; recovery codes shown once',
        body: MfaCodeRequest,
        response: { 200: RecoveryCodes, 400: ErrorResponse, 401: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request) => {
      const user = await signedInUser(request);
      assertNotThrottled(request, user.id);
      const recoveryCodes = await sequelize.transaction(async (transaction) => {
        const codes = await factor.confirmEnrolment(user, request.body.code, transaction);
        if (codes) await auditEnabled(request, user.id, transaction);
        return codes;
      });
      if (!recoveryCodes) wrongCode(request, user, 'enrolment code');
      return { recoveryCodes };
    },
  );

  app.post(
    '/api/auth/mfa/disable',
    {
      config: { access: 'session:self', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'User' } },
      schema: {
        tags,
        summary: 'Turn off my second factor (a current code proves it is me); refused where my role requires one',
        body: MfaCodeRequest,
        response: { 204: Type.Null(), 401: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const user = await signedInUser(request);
      if (factor.requiredFor(user.role)) throw conflict('your role must use a second factor', 'MFA_REQUIRED');
      assertNotThrottled(request, user.id);
      if (!(await factor.verifyCode(user, request.body.code))) wrongCode(request, user, 'code');
      await sequelize.transaction(async (transaction) => {
        await factor.remove(user.id, transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'User',
          objectId: user.id,
          details: { event: 'second-factor-disabled' },
        });
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/users/:id/mfa/reset',
    {
      config: { access: 'user:manage', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'User' } },
      schema: {
        tags: ['users'],
        summary: "Reset a user's second factor (lost phone): they enrol again at their next login; their sessions cannot be refreshed",
        params: IdParams,
        response: { 204: Type.Null(), 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditSubject = { objectId: id };
      const user = await models.User.findByPk(id, { raw: true });
      if (!user) throw notFound('user not found');
      await sequelize.transaction(async (transaction) => {
        await factor.remove(id, transaction);
        await app.refreshTokens.revokeAllForUser(id, 'second-factor-reset', transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'User',
          objectId: id,
          details: { event: 'second-factor-reset' },
        });
      });
      return reply.code(204).send(null);
    },
  );
}
