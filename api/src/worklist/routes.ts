/**
 * The worklist API: list (filters, sort, keyset pages, totals), one study with its series,
 * assignment / priority / status changes with optimistic concurrency; the device feed the web
 * app's offline cache follows (device-feed-routes.ts), its change nudges (events.ts) and the
 * turnaround aggregate (turnaround.ts).
 */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  assignmentAllowed,
  can,
  ErrorResponse,
  IdParams,
  PRIORITY_RANK,
  StudyConflict,
  StudyDetail,
  StudyPatch,
  studyEventForTarget,
  WorklistPage,
  WorklistQuery,
  WorklistStudy,
} from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Op } from 'sequelize';
import { auditInTransaction } from '../audit/recorder';
import type { StudyAttributes } from '../db/models';
import { badRequest, conflict, forbidden, notFound } from '../http-errors';
import { downgradeAfterReassignment } from '../reports/hand-over';
import { type AccessDecision, noteWindow, type StudyFacts } from '../restricted-access/policy';
import { changeSequenceOf, studyChangeStamp } from './change-feed';
import deviceFeedRoutes from './device-feed-routes';
import worklistEventRoutes from './events';
import { assigneeNames, maskStudy, presentStudy } from './present';
import { afterCursor, cursorFor, filterWhere, orderOf, sortOf } from './query';
import { recentOpensOf } from './recent-opens';
import turnaroundRoutes from './turnaround';

/**
 * Worklist pages are cached per (query, user where it matters) and are valid only while the
 * worklist change sequence stands still: any change to any study invalidates them all, so a hit
 * is exactly what the database would answer. Radiologists polling the same list share one query.
 * A cached page holds the rows as everyone with access sees them, with the facts (restriction,
 * patient, assignee) that decide per user and request which of them are masked.
 */
interface CachedPage {
  page: WorklistPage;
  facts: StudyFacts[];
}
class PageCache {
  private readonly entries = new Map<string, { seq: number; at: number; page: CachedPage }>();
  get(key: string, seq: number): CachedPage | undefined {
    const hit = this.entries.get(key);
    // The age bound covers what the sequence does not track: a renamed assignee.
    return hit && hit.seq === seq && Date.now() - hit.at < 30_000 ? hit.page : undefined;
  }
  set(key: string, seq: number, page: CachedPage): void {
    if (this.entries.size >= 2000) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { seq, at: Date.now(), page });
  }
  /** Concurrent misses for the same page share one query instead of stampeding the database. */
  private readonly computing = new Map<string, Promise<CachedPage>>();
  getOrCompute(key: string, seq: number, compute: () => Promise<CachedPage>, reusable: (page: CachedPage) => boolean): Promise<CachedPage> {
    const hit = this.get(key, seq);
    if (hit && reusable(hit)) return Promise.resolve(hit);
    const flightKey = `${seq}:${key}`;
    let flight = this.computing.get(flightKey);
    if (!flight) {
      flight = compute()
        .then((page) => {
          this.set(key, seq, page);
          return page;
        })
        .finally(() => this.computing.delete(flightKey));
      this.computing.set(flightKey, flight);
    }
    return flight;
  }
}

export default async function worklistRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models, sequelize } = app.db;
  const pages = new PageCache();
  const recentOpens = recentOpensOf(models);
  const { policy } = app.restrictedAccess;
  const tags = ['worklist'];

  /** The rows' facts with the restriction in force (the row's own, or its patient's). */
  async function factsOf(rows: StudyAttributes[]): Promise<StudyFacts[]> {
    const patients = await policy.restrictedPatients(rows.map((r) => r.patientRef));
    return rows.map((r) => ({
      id: r.id,
      patientRef: r.patientRef,
      restricted: Boolean(r.restricted) || patients.has(r.patientRef),
      assigneeId: r.assigneeId,
    }));
  }

  /** Decisions for rows whose facts already hold the restriction in force. */
  const decideFor = (userId: string, facts: StudyFacts[]) => policy.decide(userId, facts, new Set());

  /** One row as this user may see it (after a change they made: a masked row stays masked). */
  async function presentOne(request: FastifyRequest, row: StudyAttributes): Promise<WorklistStudy> {
    const decision = (await decideFor(request.principal!.userId, await factsOf([row]))).get(row.id)!;
    if (decision.access === 'open') noteWindow(request, decision.windowId);
    return presentStudy(row, await assigneeNames(models, [row]), decision);
  }

  /** The rows as this user may see them; the windows that opened any go on the audit row. */
  function shownTo(request: FastifyRequest, items: WorklistStudy[], decisions: Map<string, AccessDecision>): WorklistStudy[] {
    return items.map((item) => {
      const decision = decisions.get(item.id)!;
      if (decision.access === 'masked') return maskStudy(item);
      noteWindow(request, decision.windowId);
      return { ...item, emergencyAccessUntil: decision.until ? decision.until.toISOString() : null };
    });
  }
  await app.register(worklistEventRoutes);
  await app.register(deviceFeedRoutes);
  await app.register(turnaroundRoutes);

  app.get(
    '/api/studies',
    {
      config: { access: 'study:read', audit: { eventId: 'Query', action: 'R', objectType: 'Worklist', phi: true } },
      schema: {
        tags,
        summary: 'The worklist: filter, sort, page',
        querystring: WorklistQuery,
        response: { 200: WorklistPage, 400: ErrorResponse },
      },
    },
    async (request) => {
      const query = request.query;
      const principal = request.principal!;
      const limit = query.limit ?? 50;
      const sort = sortOf(query);
      const filters = filterWhere(query, principal.userId, sequelize);
      // A search by name or id must not find a restricted patient through a masked row: such a
      // search sees only the rows this user may see unmasked (so the page is per user).
      if (query.q) filters.push(policy.visibleWhere(principal.userId));
      const { cursor, limit: _limit, includeTotal, ...shown } = query;
      request.auditSubject = { details: { filters: shown } };

      const key = JSON.stringify([query, query.assignee === 'me' || query.q ? principal.userId : null]);
      const seq = await changeSequenceOf(models).current();
      // A search's rows were chosen by this user's access when it ran (an emergency window that may
      // have expired since, which the sequence does not follow): a page holding a restricted
      // patient is not reused for a search.
      const reusable = (page: CachedPage) => !query.q || !page.facts.some((fact) => fact.restricted);
      const cached = await pages.getOrCompute(
        key,
        seq,
        async () => {
          const where = cursor ? [...filters, afterCursor(sort, cursor, sequelize)] : filters;
          const rows = await models.Study.findAll({ where: { [Op.and]: where }, order: orderOf(sort), limit: limit + 1, raw: true });
          const page = rows.slice(0, limit);
          const last = page.at(-1);
          // A first page that holds every match is its own count.
          const total =
            cursor || includeTotal === false
              ? null
              : rows.length <= limit
                ? rows.length
                : await models.Study.count({ where: { [Op.and]: filters } });
          const names = await assigneeNames(models, page);
          const facts = await factsOf(page);
          const restricted = new Map(facts.map((f) => [f.id, f.restricted]));
          return {
            page: {
              items: page.map((row) =>
                presentStudy(row, names, { restricted: restricted.get(row.id)!, access: 'open', windowId: null, until: null }),
              ),
              nextCursor: rows.length > limit && last ? cursorFor(sort, last) : null,
              total,
            },
            facts,
          };
        },
        reusable,
      );
      const decisions = await decideFor(principal.userId, cached.facts);
      return { ...cached.page, items: shownTo(request, cached.page.items, decisions) };
    },
  );

  app.get(
    '/api/studies/:id',
    {
      config: { access: 'study:read', audit: { eventId: 'PatientRecord', action: 'R', objectType: 'Study', phi: true } },
      schema: { tags, summary: 'One study with its series', params: IdParams, response: { 200: StudyDetail, 404: ErrorResponse } },
    },
    async (request, reply) => {
      const study = await models.Study.findByPk(request.params.id, { raw: true });
      if (!study) throw notFound('study not found');
      request.auditSubject = { objectId: study.id, patientId: study.patientId, studyUid: study.studyInstanceUid };
      const decision = await policy.assertStudy(request, study);
      await recentOpens.record(request.principal!.userId, study.id);
      const series = await models.Series.findAll({
        where: { studyRef: study.id },
        order: [
          ['seriesNumber', 'ASC'],
          ['createdAt', 'ASC'],
        ],
        raw: true,
      });
      reply.header('etag', `"${study.version}"`);
      return {
        study: presentStudy(study, await assigneeNames(models, [study]), decision),
        series: series.map((s) => ({
          id: s.id,
          seriesInstanceUid: s.seriesInstanceUid,
          modality: s.modality,
          seriesNumber: s.seriesNumber,
          description: s.description,
          bodyPart: s.bodyPart,
          numberOfInstances: s.numberOfInstances,
        })),
      };
    },
  );

  app.patch(
    '/api/studies/:id',
    {
      config: { access: 'study:read', audit: { eventId: 'PatientRecord', action: 'U', objectType: 'Study' } },
      schema: {
        tags,
        summary: 'Assign, prioritise or change status; send the version you saw (or If-Match)',
        params: IdParams,
        body: StudyPatch,
        response: { 200: WorklistStudy, 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: StudyConflict },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const patch = request.body;
      const ifMatch = request.headers['if-match'];
      const expectedVersion =
        patch.version ?? (typeof ifMatch === 'string' ? Number(ifMatch.replace(/^W\//, '').replace(/"/g, '')) : undefined);
      if (expectedVersion !== undefined && !Number.isInteger(expectedVersion))
        throw badRequest('If-Match must carry a version', 'BAD_IF_MATCH');
      request.auditSubject = { objectId: request.params.id };

      // Field-level permissions from the matrix, before anything is read or written.
      if (patch.assigneeId !== undefined && !can(principal.role, 'study:assign'))
        throw forbidden(`role '${principal.role}' may not assign studies`, 'PERMISSION_DENIED');
      if (patch.priority !== undefined && !can(principal.role, 'study:prioritize'))
        throw forbidden(`role '${principal.role}' may not change priority`, 'PERMISSION_DENIED');
      if (patch.status !== undefined && !can(principal.role, 'study:set-status'))
        throw forbidden(`role '${principal.role}' may not change status`, 'PERMISSION_DENIED');

      let reassigned = null as { from: string | null; to: string | null } | null;
      const updated = await sequelize.transaction(async (transaction) => {
        const study = await models.Study.findByPk(request.params.id, { transaction, lock: transaction.LOCK.UPDATE });
        if (!study) throw notFound('study not found');
        const before = { ...study.get() };
        request.auditSubject = { objectId: before.id, patientId: before.patientId, studyUid: before.studyInstanceUid };
        if (expectedVersion !== undefined && expectedVersion !== before.version) {
          const current = await presentOne(request, before);
          throw conflict('the study changed since you loaded it', 'STALE_VERSION', { current });
        }
        const changes: Partial<StudyAttributes> = {};
        if (patch.assigneeId !== undefined && patch.assigneeId !== before.assigneeId) {
          // Residents take only unassigned studies and give back only their own.
          const assignment = assignmentAllowed(principal, before.assigneeId, patch.assigneeId);
          if (!assignment.ok) throw forbidden(assignment.message, 'ASSIGNMENT_FORBIDDEN');
          if (patch.assigneeId !== null) {
            const assignee = await models.User.findByPk(patch.assigneeId, { transaction, raw: true });
            if (!assignee?.active || !can(assignee.role, 'report:edit'))
              throw badRequest('assignee must be an active attending or resident', 'BAD_ASSIGNEE');
          }
          changes.assigneeId = patch.assigneeId;
          reassigned = { from: before.assigneeId, to: patch.assigneeId };
        }
        if (patch.priority !== undefined && patch.priority !== before.priority) {
          changes.priority = patch.priority;
          changes.priorityRank = PRIORITY_RANK[patch.priority];
        }
        if (patch.status !== undefined && patch.status !== before.status) {
          const step = studyEventForTarget(before.status, patch.status, principal.role);
          if (!step.ok) {
            if (step.reason === 'not-allowed-for-role') throw forbidden(step.message, 'TRANSITION_FORBIDDEN');
            throw conflict(step.message, 'TRANSITION_NOT_ALLOWED');
          }
          changes.status = patch.status;
        }
        if (Object.keys(changes).length > 0) {
          await study.update({ ...changes, ...(await studyChangeStamp(models, before, transaction)) }, { transaction });
          const diff = Object.fromEntries(
            Object.entries(changes)
              .filter(([key]) => key !== 'priorityRank')
              .map(([key, to]) => [key, { from: before[key as keyof StudyAttributes], to }]),
          );
          await auditInTransaction(request, transaction, {
            eventId: 'PatientRecord',
            action: 'U',
            objectType: 'Study',
            objectId: before.id,
            patientId: before.patientId,
            studyUid: before.studyInstanceUid,
            details: { changes: diff },
          });
        }
        return study.get();
      });
      if (reassigned) await downgradeAfterReassignment(app, request.log, updated.id, reassigned.from, reassigned.to);
      reply.header('etag', `"${updated.version}"`);
      return presentOne(request, updated);
    },
  );
}
