/** The audit trail, for admins: filtered, newest first, keyset-paged. Reading it is audited too. */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type AuditEntry, AuditPage, AuditQuery } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { Op, type WhereOptions } from 'sequelize';
import type { AuditLogAttributes } from '../db/models';
import { badRequest } from '../http-errors';
import { decodeCursor, encodeCursor } from '../pagination';

export default async function auditRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { AuditLog } = app.db.models;
  const rowCache = new ImmutableRowCache<AuditEntry>(20_000);

  app.get(
    '/api/audit',
    {
      config: { access: 'audit:read', audit: { eventId: 'Query', action: 'R', objectType: 'AuditLog', phi: true } },
      schema: { tags: ['audit'], summary: 'Search the audit trail', querystring: AuditQuery, response: { 200: AuditPage } },
    },
    async (request) => {
      const query = request.query;
      const limit = query.limit ?? 50;
      const where: WhereOptions<AuditLogAttributes>[] = [];
      if (query.from) where.push({ eventDateTime: { [Op.gte]: new Date(query.from) } });
      if (query.to) where.push({ eventDateTime: { [Op.lt]: new Date(query.to) } });
      for (const key of ['userId', 'patientId', 'studyUid', 'eventId', 'action', 'outcome', 'objectType'] as const) {
        const value = query[key];
        if (value !== undefined) where.push({ [key]: value });
      }
      if (query.cursor) {
        const [before] = decodeCursor(query.cursor, ['string']);
        if (!/^\d{1,19}$/.test(String(before))) throw badRequest('cursor is not valid', 'BAD_CURSOR');
        where.push({ id: { [Op.lt]: before } });
      }
      const filters = Object.fromEntries(Object.entries(query).filter(([k]) => k !== 'cursor' && k !== 'limit'));
      request.auditSubject = { patientId: query.patientId, studyUid: query.studyUid, details: { filters } };

      // Ids first (an index-only scan), then only the rows not yet in the cache: audit rows never
      // change, so a cached row is always exact.
      const idRows = await AuditLog.findAll({
        where: { [Op.and]: where },
        attributes: ['id'],
        order: [['id', 'DESC']],
        limit: limit + 1,
        raw: true,
      });
      const pageIds = idRows.slice(0, limit).map((row) => String(row.id));
      const missing = pageIds.filter((id) => !rowCache.has(id));
      if (missing.length > 0) {
        const fetched = await AuditLog.findAll({ where: { id: { [Op.in]: missing } }, raw: true });
        for (const row of fetched) rowCache.set(String(row.id), presentAuditRow(row));
      }
      const items = pageIds.map((id) => rowCache.get(id)).filter((row): row is AuditEntry => row !== undefined);
      const last = pageIds.at(-1);
      return { items, nextCursor: idRows.length > limit && last ? encodeCursor([last]) : null };
    },
  );
}

/** Insertion-ordered map with a size bound: enough for the rows admins page through. */
class ImmutableRowCache<T> {
  private readonly rows = new Map<string, T>();
  constructor(private readonly max: number) {}
  has(id: string): boolean {
    return this.rows.has(id);
  }
  get(id: string): T | undefined {
    return this.rows.get(id);
  }
  set(id: string, row: T): void {
    if (this.rows.size >= this.max) this.rows.delete(this.rows.keys().next().value as string);
    this.rows.set(id, row);
  }
}

function presentAuditRow(row: AuditLogAttributes): AuditEntry {
  let details: Record<string, unknown> | null = null;
  if (row.details) {
    try {
      details = JSON.parse(row.details) as Record<string, unknown>;
    } catch {
      details = { unparsable: row.details };
    }
  }
  return {
    id: String(row.id),
    eventId: row.eventId,
    action: row.action,
    outcome: Number(row.outcome) as AuditEntry['outcome'],
    eventDateTime: new Date(row.eventDateTime).toISOString(),
    userId: row.userId,
    userRole: row.userRole,
    networkAddress: row.networkAddress,
    objectType: row.objectType,
    objectId: row.objectId,
    patientId: row.patientId,
    studyUid: row.studyUid,
    requestId: row.requestId,
    details,
  };
}
