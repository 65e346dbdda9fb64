/**
 * The device feed (`GET /api/studies/changes`, device-feed.ts), following a study, and one study's
 * row as the user's devices should hold it (after opening a study found by a search). Every page
 * carries the database's epoch; a device whose epoch or cursor belongs to another database history
 * (a restore) gets 409 FEED_RESET and starts again from cursor 0.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse, FeedReset, FollowAnswer, IdParams, StudyChanges, StudyChangesQuery } from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UniqueConstraintError } from 'sequelize';
import { conflict, notFound } from '../http-errors';
import { DeviceFeed, feedReset, parseFeedCursor } from './device-feed';
import type { ScopeUser } from './device-scope';
import { databaseEpoch, storedSequence } from './epoch';

/** Follows a device holds at most: each is read on every feed request. */
export const MAX_FOLLOWS = 1000;

export default async function deviceFeedRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models } = app.db;
  const feed = new DeviceFeed(models, app.restrictedAccess.policy);
  const tags = ['worklist'];

  async function scopeUser(request: FastifyRequest): Promise<ScopeUser> {
    const principal = request.principal!;
    // The access check has just read this user (or its cached row, at most a couple of seconds old).
    const user = await app.principals.get(principal.userId);
    return { id: principal.userId, role: principal.role, modalities: user?.modalities ?? null };
  }

  app.get(
    '/api/studies/changes',
    {
      config: { access: 'study:read', audit: { eventId: 'Query', action: 'R', objectType: 'Worklist', phi: true } },
      schema: {
        tags,
        summary: "What this user's devices hold of the worklist: a snapshot from cursor 0, then changes (tombstones for rows that left)",
        querystring: StudyChangesQuery,
        response: { 200: StudyChanges, 400: ErrorResponse, 409: FeedReset },
      },
    },
    async (request) => {
      const { cursor: after = '0', epoch: sent, limit = 500 } = request.query;
      request.auditSubject = { details: { feed: 'changes', after } };
      const cursor = parseFeedCursor(after, request.principal!.userId);
      const [epoch, stored] = await Promise.all([databaseEpoch(models), storedSequence(models)]);
      if (sent !== undefined && sent !== epoch) throw feedReset(epoch, 'the database was restored since: start again from cursor 0');
      if (cursor.seq > stored)
        throw feedReset(epoch, 'the cursor is ahead of this database (restored from a backup): start again from cursor 0');
      const user = await scopeUser(request);
      const page =
        cursor.kind === 'delta'
          ? await feed.deltaPage(request, user, cursor.seq, limit)
          : cursor.kind === 'start'
            ? await feed.snapshotPage(request, user, stored, null, limit, stored)
            : await feed.snapshotPage(request, user, cursor.seq, cursor.afterId, limit, stored);
      return { ...page, epoch };
    },
  );

  const followSchema = (summary: string) => ({
    tags,
    summary,
    params: IdParams,
    response: { 200: FollowAnswer, 404: ErrorResponse, 409: ErrorResponse },
  });
  const followConfig = { access: 'study:read', audit: { eventId: 'PatientRecord', action: 'R', objectType: 'Study', phi: true } } as const;

  async function studyFor(request: FastifyRequest, id: string, follow: boolean) {
    const study = await models.Study.findByPk(id, { raw: true });
    if (!study) throw notFound('study not found');
    request.auditSubject = { objectId: study.id, patientId: study.patientId, studyUid: study.studyInstanceUid, details: { follow } };
    return study;
  }

  app.put(
    '/api/studies/:id/follow',
    { config: followConfig, schema: followSchema('Follow a study: it stays on your devices; answers the row as they should store it') },
    async (request) => {
      const userId = request.principal!.userId;
      const study = await studyFor(request, request.params.id, true);
      const existing = await models.StudyFollow.findOne({ where: { userId, studyRef: study.id }, attributes: ['id'], raw: true });
      if (!existing) {
        if ((await models.StudyFollow.count({ where: { userId } })) >= MAX_FOLLOWS)
          throw conflict(`you follow ${MAX_FOLLOWS} studies already: unfollow some first`, 'FOLLOW_LIMIT');
        try {
          await models.StudyFollow.create({ userId, studyRef: study.id });
        } catch (error) {
          // The same follow from another device at the same moment: followed either way.
          if (!(error instanceof UniqueConstraintError)) throw error;
        }
      }
      return feed.one(request, await scopeUser(request), study);
    },
  );

  app.get(
    '/api/studies/:id/device-row',
    {
      config: followConfig,
      schema: followSchema("One study as this user's devices should hold it now: the row with its reasons, or a tombstone"),
    },
    async (request) => {
      const study = await models.Study.findByPk(request.params.id, { raw: true });
      if (!study) throw notFound('study not found');
      request.auditSubject = { objectId: study.id, patientId: study.patientId, studyUid: study.studyInstanceUid };
      return feed.one(request, await scopeUser(request), study);
    },
  );

  app.delete(
    '/api/studies/:id/follow',
    {
      config: followConfig,
      schema: followSchema('Stop following a study: answers the row if it stays on your devices for another reason, else a tombstone'),
    },
    async (request) => {
      const study = await studyFor(request, request.params.id, false);
      await models.StudyFollow.destroy({ where: { userId: request.principal!.userId, studyRef: study.id } });
      return feed.one(request, await scopeUser(request), study);
    },
  );
}
