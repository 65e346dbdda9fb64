/**
 * Sessions and devices over HTTP. Everyone lists and revokes their own; admins (`session:manage`)
 * anyone's. Someone else's session or device is answered 404, as if it did not exist. A revoked
 * device learns it at its next refresh (401 DEVICE_REVOKED), wipes its offline data and reports the
 * wipe here with its own id and secret, the one proof it still has once its sessions are gone.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  can,
  DeviceHoldings,
  DeviceList,
  ErrorResponse,
  IdParams,
  SessionAdminQuery,
  SessionList,
  WipeReportAnswer,
  WipeReportRequest,
} from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { auditInTransaction } from '../../audit/recorder';
import { conflict, notFound, unauthorized } from '../../http-errors';
import { SESSION_REVOKED } from '../session-revocations';
import { type ListScope, SessionListing } from './listing';

/** A device reports its wipe once, and retries a few times when the network fails. */
const WIPE_REPORTS_PER_MINUTE = 10;
const OWN_LIST_LIMIT = 200;

export default async function deviceRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { sequelize } = app.db;
  const listing = new SessionListing(app.db.models);
  const tags = ['sessions'];
  const listAudit = (objectType: string) => ({ eventId: 'Query', action: 'R', objectType }) as const;

  const isAdmin = (request: FastifyRequest) => can(request.principal!.role, 'session:manage');
  const currentDevice = async (request: FastifyRequest) =>
    request.sessionId ? ((await app.refreshTokens.session(request.sessionId))?.deviceId ?? null) : null;
  const scope = async (request: FastifyRequest, userId: string | undefined, limit: number): Promise<ListScope> => ({
    userId,
    limit,
    currentSessionId: request.sessionId,
    currentDeviceId: await currentDevice(request),
  });
  /** Another user's session or device looks like none at all to a non-admin. */
  const assertMayManage = (request: FastifyRequest, ownerId: string | undefined, what: string) => {
    if (!ownerId || (ownerId !== request.principal!.userId && !isAdmin(request))) throw notFound(`${what} not found`);
  };

  app.get(
    '/api/sessions',
    {
      config: { access: 'session:self', audit: listAudit('Session') },
      schema: { tags, summary: 'My active sessions (signed-in browsers), the current one marked', response: { 200: SessionList } },
    },
    async (request) => {
      request.auditSubject = { objectId: request.principal!.userId, details: { event: 'sessions-listed' } };
      return { items: await listing.sessions(await scope(request, request.principal!.userId, OWN_LIST_LIMIT)) };
    },
  );

  app.get(
    '/api/devices',
    {
      config: { access: 'session:self', audit: listAudit('Device') },
      schema: { tags, summary: 'My devices: last seen, offline holdings, revoked and wiped', response: { 200: DeviceList } },
    },
    async (request) => {
      request.auditSubject = { objectId: request.principal!.userId, details: { event: 'devices-listed' } };
      return { items: await listing.devices(await scope(request, request.principal!.userId, OWN_LIST_LIMIT)) };
    },
  );

  app.get(
    '/api/admin/sessions',
    {
      config: { access: 'session:manage', audit: listAudit('Session') },
      schema: {
        tags,
        summary: "One user's active sessions, or everyone's",
        querystring: SessionAdminQuery,
        response: { 200: SessionList },
      },
    },
    async (request) => {
      const { userId, limit = 200 } = request.query;
      request.auditSubject = { objectId: userId, details: { event: 'sessions-listed', scope: userId ? 'user' : 'all' } };
      return { items: await listing.sessions(await scope(request, userId, limit)) };
    },
  );

  app.get(
    '/api/admin/devices',
    {
      config: { access: 'session:manage', audit: listAudit('Device') },
      schema: { tags, summary: "One user's devices, or everyone's", querystring: SessionAdminQuery, response: { 200: DeviceList } },
    },
    async (request) => {
      const { userId, limit = 200 } = request.query;
      request.auditSubject = { objectId: userId, details: { event: 'devices-listed', scope: userId ? 'user' : 'all' } };
      return { items: await listing.devices(await scope(request, userId, limit)) };
    },
  );

  app.delete(
    '/api/sessions/:id',
    {
      config: { access: 'session:self', audit: { eventId: 'SecurityAlert', action: 'D', objectType: 'Session' } },
      schema: {
        tags,
        summary: 'End a session at once (its access tokens are refused from the next request); mine, or anyone’s for admins',
        params: IdParams,
        response: { 204: Type.Null(), 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditSubject = { objectId: id, details: { event: 'session-revoked' } };
      const session = await app.refreshTokens.session(id);
      assertMayManage(request, session?.userId, 'session');
      await sequelize.transaction(async (transaction) => {
        await app.refreshTokens.revokeFamily(id, SESSION_REVOKED, transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'D',
          objectType: 'Session',
          objectId: id,
          details: { event: 'session-revoked', sessionUserId: session!.userId, deviceId: session!.deviceId },
        });
      });
      app.sessionRevocations.revoke(id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/devices/:id/revoke',
    {
      config: { access: 'session:self', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'Device' } },
      schema: {
        tags,
        summary: 'Revoke a device: its sessions end at once, and at its next contact it wipes its offline data and reports it',
        params: IdParams,
        response: { 204: Type.Null(), 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditSubject = { objectId: id, details: { event: 'device-revoked' } };
      const device = await app.devices.find(id);
      assertMayManage(request, device?.userId, 'device');
      const sessions = await sequelize.transaction(async (transaction) => {
        const ended = await app.devices.revoke(id, request.principal!.userId, transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'Device',
          objectId: id,
          details: { event: 'device-revoked', deviceUserId: device!.userId, sessionsEnded: ended.length },
        });
        return ended;
      });
      for (const sessionId of sessions) app.sessionRevocations.revoke(sessionId);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/api/devices/current/holdings',
    {
      config: { access: 'session:self' },
      schema: {
        tags,
        summary: 'What this device holds offline (counted on the device), shown in the lists of devices',
        body: DeviceHoldings,
        response: { 204: Type.Null(), 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const deviceId = await currentDevice(request);
      if (!deviceId) throw conflict('this session signed in without a device identity', 'NO_DEVICE');
      await app.devices.reportHoldings(deviceId, request.body);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/device/wipe-report',
    {
      config: {
        access: 'public',
        audit: { eventId: 'SecurityAlert', action: 'D', objectType: 'Device' },
        rateLimit: { max: WIPE_REPORTS_PER_MINUTE, timeWindow: 60_000 },
      },
      schema: {
        tags: ['auth'],
        summary: 'A revoked device reports that it wiped its offline data (its id and secret prove it); idempotent',
        body: WipeReportRequest,
        response: { 200: WipeReportAnswer, 401: ErrorResponse, 409: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request) => {
      const { device, wiped } = request.body;
      request.auditSubject = { objectId: device.id, details: { event: 'device-wipe-report' } };
      const outcome = await sequelize.transaction(async (transaction) => {
        const result = await app.devices.recordWipe(device, wiped, transaction);
        if (result.kind === 'recorded') {
          await auditInTransaction(request, transaction, {
            eventId: 'SecurityAlert',
            action: 'D',
            objectType: 'Device',
            objectId: device.id,
            userId: result.userIds[0] ?? null,
            details: { event: 'device-wiped', wiped, deviceUserIds: result.userIds },
          });
        }
        return result;
      });
      if (outcome.kind === 'refused') {
        // One answer for an unknown id and a wrong secret: nothing tells which.
        request.auditSubject.details = { event: 'device-wipe-report', rejected: 'unknown device or wrong secret' };
        throw unauthorized('device not recognised', 'DEVICE_REFUSED');
      }
      if (outcome.kind === 'not-revoked') {
        request.auditSubject.details = { event: 'device-wipe-report', rejected: 'not revoked' };
        throw conflict('this device was not revoked', 'DEVICE_NOT_REVOKED');
      }
      if (outcome.kind === 'already') request.auditSubject.details = { event: 'device-wipe-report', repeated: true };
      return { wipedAt: outcome.wipedAt.toISOString() };
    },
  );
}
