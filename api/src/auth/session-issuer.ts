/**
 * How a sign-in ends: a refresh token family (its token in an httpOnly cookie scoped to
 * /api/auth), an access token, and the login's audit row, in one transaction. Shared by the
 * password login, the second-factor step and single sign-on. A body that names the web app's
 * device registers the session to it; a revoked device that has not reported its wipe is refused
 * until it has.
 */
import type { DeviceCredentials } from '@pacs/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Transaction } from 'sequelize';
import { auditInTransaction } from '../audit/recorder';
import type { UserAttributes } from '../db/models';
import { unauthorized } from '../http-errors';
import { presentUser } from '../users/present';
import { DeviceMustWipe } from './devices/device-registry';
import { deviceVaultKey } from './devices/vault-key';
import { principalOf } from './principal-cache';

export const REFRESH_COOKIE = 'pacs_refresh';
export const AUTH_COOKIE_PATH = '/api/auth';
/** A device that passed the second factor recently (auth/mfa/). */
export const MFA_DEVICE_COOKIE = 'pacs_mfa_device';

export function createSessionIssuer(app: FastifyInstance) {
  const { config } = app;
  const setRefreshCookie = (reply: FastifyReply, token: string, expiresAt: Date) =>
    reply.setCookie(REFRESH_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: config.cookieSecure,
      path: AUTH_COOKIE_PATH,
      expires: expiresAt,
    });
  const clearRefreshCookie = (reply: FastifyReply) =>
    reply.clearCookie(REFRESH_COOKIE, { path: AUTH_COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure: config.cookieSecure });
  const session = (user: UserAttributes, sessionId: string) => ({
    accessToken: app.signAccessToken(user, sessionId),
    tokenType: 'Bearer' as const,
    expiresIn: config.accessTokenTtl,
    user: presentUser(user),
  });

  /**
   * A new session for `user`, audited as a login with `details`; `alongside` writes what belongs
   * to the session in the same transaction (the provider's tokens of a single sign-on).
   */
  async function signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    user: UserAttributes,
    details: Record<string, unknown> = {},
    alongside?: (familyId: string, transaction: Transaction) => Promise<void>,
  ) {
    // Every sign-in body (password, second factor, enrolment) may carry the device; the route's schema checked its shape.
    const device = (request.body as { device?: DeviceCredentials } | undefined)?.device;
    const issued = await app.db.sequelize
      .transaction(async (transaction) => {
        const deviceId = await app.devices.register(user.id, device, request.headers['user-agent'], transaction);
        const refresh = await app.refreshTokens.issue(user.id, undefined, transaction, undefined, deviceId);
        await alongside?.(refresh.familyId, transaction);
        request.principal = principalOf(user);
        await auditInTransaction(request, transaction, {
          eventId: 'UserAuthentication',
          action: 'E',
          objectType: 'User',
          objectId: user.id,
          details: { event: 'login', ...details, ...(deviceId ? { deviceId } : {}) },
        });
        return { ...refresh, deviceId };
      })
      .catch((error: unknown) => {
        if (!(error instanceof DeviceMustWipe)) throw error;
        request.auditSubject = { objectId: user.id, details: { event: 'login', rejected: 'device revoked' } };
        throw unauthorized('this device was revoked: it must remove its offline data before anyone signs in on it', 'DEVICE_REVOKED');
      });
    setRefreshCookie(reply, issued.token, issued.expiresAt);
    return {
      ...session(user, issued.familyId),
      ...(issued.deviceId ? { device: { id: issued.deviceId }, deviceKey: vaultKey(user.id, issued.deviceId) } : {}),
    };
  }

  /** The device's vault key; call only for a device the request proved (see DeviceRegistry.proves). */
  const vaultKey = (userId: string, deviceId: string) => deviceVaultKey(config.mfa.secretKey, userId, deviceId);

  return { setRefreshCookie, clearRefreshCookie, session, signIn, vaultKey };
}
