/** User administration (admins only): list, create, change role or name, deactivate, reset password. */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AssignableUsers,
  ErrorResponse,
  IdParams,
  PasswordResetRequest,
  User,
  UserCreateRequest,
  UserListQuery,
  UserPage,
  UserUpdateRequest,
} from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { col, fn, Op, Sequelize, UniqueConstraintError, type WhereOptions } from 'sequelize';
import { Type } from 'typebox';
import { auditInTransaction } from '../audit/recorder';
import { assertAcceptablePassword, hashPassword } from '../auth/passwords';
import type { UserAttributes } from '../db/models';
import { conflict, notFound } from '../http-errors';
import { decodeCursor, encodeCursor } from '../pagination';
import { revokeDocumentSessions } from '../reports/sync-client';
import { encodeModalities } from '../worklist/present';
import { presentUser } from './present';

/** null (all modalities) stays null; a list is stored like a study's, "|CT|MR|" ('' for none). */
const storedModalities = (modalities: readonly string[] | null): string | null =>
  modalities === null ? null : encodeModalities(modalities);

export default async function userRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models, sequelize } = app.db;
  const tags = ['users'];

  app.get(
    '/api/users',
    {
      config: { access: 'user:manage' },
      schema: { tags, summary: 'List users (by email)', querystring: UserListQuery, response: { 200: UserPage } },
    },
    async (request) => {
      const { role, active, q, cursor } = request.query;
      const limit = request.query.limit ?? 50;
      const where: WhereOptions<UserAttributes>[] = [];
      if (role) where.push({ role });
      if (active !== undefined) where.push({ active });
      if (q) {
        // LIKE escapes differ between dialects; a wildcard character in the query matches itself
        // or any other single character, which is harmless for a name search.
        const like = `%${q.toLowerCase().replace(/[\\%_[\]]/g, '_')}%`;
        where.push({ [Op.or]: [{ email: { [Op.like]: like } }, Sequelize.where(fn('lower', col('name')), Op.like, like)] });
      }
      if (cursor) where.push({ email: { [Op.gt]: decodeCursor(cursor, ['string'])[0] as string } });
      const rows = await models.User.findAll({ where: { [Op.and]: where }, order: [['email', 'ASC']], limit: limit + 1, raw: true });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map(presentUser), nextCursor: rows.length > limit && last ? encodeCursor([last.email]) : null };
    },
  );

  app.get(
    '/api/users/assignable',
    {
      config: { access: 'study:assign' },
      schema: {
        tags,
        summary: 'Who a study can be assigned to: the active attendings and residents (a resident: only themselves)',
        response: { 200: AssignableUsers },
      },
    },
    async (request) => {
      const principal = request.principal!;
      // Residents assign only themselves (assignmentAllowed); the list does not show them anyone else.
      const users = await models.User.findAll({
        where: {
          active: true,
          role: { [Op.in]: ['attending', 'resident'] },
          ...(principal.role === 'resident' ? { id: principal.userId } : {}),
        },
        attributes: ['id', 'name', 'role'],
        order: [['name', 'ASC']],
        raw: true,
      });
      return { users: users.map((u) => ({ id: u.id, name: u.name, role: u.role as 'attending' | 'resident' })) };
    },
  );

  app.get(
    '/api/users/:id',
    {
      config: { access: 'user:manage' },
      schema: { tags, summary: 'One user', params: IdParams, response: { 200: User, 404: ErrorResponse } },
    },
    async (request) => {
      const user = await models.User.findByPk(request.params.id, { raw: true });
      if (!user) throw notFound('user not found');
      return presentUser(user);
    },
  );

  app.post(
    '/api/users',
    {
      config: { access: 'user:manage', audit: { eventId: 'SecurityAlert', action: 'C', objectType: 'User' } },
      schema: { tags, summary: 'Create a user', body: UserCreateRequest, response: { 201: User, 400: ErrorResponse, 409: ErrorResponse } },
    },
    async (request, reply) => {
      const { email, name, role, password, providerId = '', modalities = null } = request.body;
      assertAcceptablePassword(password, { email, name });
      const passwordHash = await hashPassword(password, app.config.bcryptCost);
      try {
        const created = await sequelize.transaction(async (transaction) => {
          const user = await models.User.create(
            {
              email: email.trim().toLowerCase(),
              name: name.trim(),
              role,
              passwordHash,
              providerId,
              modalities: storedModalities(modalities),
            },
            { transaction },
          );
          await auditInTransaction(request, transaction, {
            eventId: 'SecurityAlert',
            action: 'C',
            objectType: 'User',
            objectId: user.get('id'),
            details: { event: 'user-created', role },
          });
          return user.get();
        });
        return reply.code(201).send(presentUser(created));
      } catch (error) {
        if (error instanceof UniqueConstraintError) throw conflict('a user with this email exists', 'EMAIL_TAKEN');
        throw error;
      }
    },
  );

  app.patch(
    '/api/users/:id',
    {
      config: { access: 'user:manage', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'User' } },
      schema: {
        tags,
        summary: 'Change name, role, provider id or arrival-window modalities, deactivate or reactivate',
        params: IdParams,
        body: UserUpdateRequest,
        response: { 200: User, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const { id } = request.params;
      const changes = request.body;
      request.auditSubject = { objectId: id };
      let revokeSyncSessions: 'deactivated' | 'role-changed' | null = null;
      const updated = await sequelize.transaction(async (transaction) => {
        const user = await models.User.findByPk(id, { transaction });
        if (!user) throw notFound('user not found');
        const before = { ...user.get() };
        const losesAdmin =
          before.role === 'admin' && before.active && (changes.active === false || (changes.role && changes.role !== 'admin'));
        if (losesAdmin) {
          if (id === request.principal!.userId) throw conflict('you cannot remove your own admin access', 'SELF_LOCKOUT');
          const admins = await models.User.count({ where: { role: 'admin', active: true }, transaction });
          if (admins <= 1) throw conflict('the last active admin cannot be removed', 'LAST_ADMIN');
        }
        await user.update(
          {
            ...(changes.name ? { name: changes.name.trim() } : {}),
            ...(changes.role ? { role: changes.role } : {}),
            ...(changes.active !== undefined ? { active: changes.active } : {}),
            // Activating an account a first single sign-on created is the approval it waited for.
            ...(changes.active === true ? { approvalPending: false } : {}),
            ...(changes.providerId !== undefined ? { providerId: changes.providerId } : {}),
            ...(changes.modalities !== undefined ? { modalities: storedModalities(changes.modalities) } : {}),
          },
          { transaction },
        );
        if (changes.active === false) await app.refreshTokens.revokeAllForUser(id, 'deactivated', transaction);
        if (changes.active === false && before.active) revokeSyncSessions = 'deactivated';
        else if (changes.role && changes.role !== before.role) revokeSyncSessions = 'role-changed';
        const diff: Record<string, unknown> = {};
        for (const key of ['name', 'role', 'active', 'providerId'] as const) {
          if (changes[key] !== undefined && changes[key] !== before[key]) diff[key] = { from: before[key], to: changes[key] };
        }
        if (changes.modalities !== undefined && storedModalities(changes.modalities) !== before.modalities)
          diff.modalities = { from: before.modalities, to: storedModalities(changes.modalities) };
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'User',
          objectId: id,
          details: { event: 'user-updated', changes: diff },
        });
        return user.get();
      });
      if (revokeSyncSessions) await revokeDocumentSessions(app.config, request.log, id, revokeSyncSessions);
      return presentUser(updated);
    },
  );

  app.post(
    '/api/users/:id/password',
    {
      config: { access: 'user:manage', audit: { eventId: 'SecurityAlert', action: 'U', objectType: 'User' } },
      schema: {
        tags,
        summary: "Reset a user's password; their sessions end",
        params: IdParams,
        body: PasswordResetRequest,
        response: { 204: Type.Null(), 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      request.auditSubject = { objectId: id };
      const owner = await models.User.findByPk(id, { attributes: ['email', 'name'], raw: true });
      assertAcceptablePassword(request.body.password, owner ?? undefined);
      const passwordHash = await hashPassword(request.body.password, app.config.bcryptCost);
      await sequelize.transaction(async (transaction) => {
        const user = await models.User.findByPk(id, { transaction });
        if (!user) throw notFound('user not found');
        await user.update({ passwordHash, passwordChangedAt: new Date() }, { transaction });
        await app.refreshTokens.revokeAllForUser(id, 'password-reset', transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'User',
          objectId: id,
          details: { event: 'password-reset' },
        });
      });
      return reply.code(204).send(null);
    },
  );
}
