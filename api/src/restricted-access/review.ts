/**
 * The privacy officer's list of emergency accesses (newest first, keyset-paged) and their sign-off.
 * A verdict is given once: the UPDATE is conditional on the entry still being pending.
 */
import type { EmergencyAccess, EmergencyAccessPage, EmergencyAccessQuery, ReviewVerdict } from '@pacs/shared';
import type { FastifyRequest } from 'fastify';
import { Op } from 'sequelize';
import { auditInTransaction } from '../audit/recorder';
import type { Models } from '../db/models';
import type { AccessWindowAttributes } from '../db/restricted-access-models';
import { badRequest, conflict, notFound } from '../http-errors';
import { decodeCursor, encodeCursor } from '../pagination';

const iso = (value: Date | string | null) => (value ? new Date(value).toISOString() : null);

export function createReview(models: Models) {
  const sequelize = models.AccessWindow.sequelize!;

  /**
   * How many audit rows of reads name the window. Bounded to the window's user and time range
   * (at most PACS_BREAK_GLASS_MINUTES of the audit table, by its time index), never a scan.
   */
  async function accessCounts(rows: AccessWindowAttributes[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const row of rows) {
      const end = row.closedAt ?? row.expiresAt;
      const n = await models.AuditLog.count({
        where: {
          userId: row.userId,
          eventDateTime: { [Op.gte]: new Date(row.openedAt), [Op.lte]: new Date(end) },
          // Not the window's own start, stop and review rows (NULL object types are reads too).
          [Op.or]: [{ objectType: null }, { objectType: { [Op.ne]: 'EmergencyAccess' } }],
          // Window ids are UUIDs: no LIKE wildcards in them.
          details: { [Op.like]: `%${row.id}%` },
        },
      });
      counts.set(row.id, n);
    }
    return counts;
  }

  async function present(rows: AccessWindowAttributes[]): Promise<EmergencyAccess[]> {
    const userIds = [...new Set(rows.flatMap((r) => [r.userId, r.reviewedBy].filter((id): id is string => !!id)))];
    const users = new Map((await models.User.findAll({ where: { id: { [Op.in]: userIds } }, raw: true })).map((u) => [u.id, u]));
    const studies = new Map(
      (await models.Study.findAll({ where: { id: { [Op.in]: rows.map((r) => r.studyRef) } }, paranoid: false, raw: true })).map((s) => [
        s.id,
        s,
      ]),
    );
    const counts = await accessCounts(rows);
    return rows.map((r) => {
      const user = users.get(r.userId);
      const study = studies.get(r.studyRef);
      const reviewer = r.reviewedBy ? users.get(r.reviewedBy) : undefined;
      return {
        id: r.id,
        user: { id: r.userId, name: user?.name ?? '', email: user?.email ?? '', role: user?.role ?? '' },
        reason: r.reason,
        patientId: study?.patientId ?? '',
        patientName: study?.patientName ?? '',
        study: {
          id: r.studyRef,
          studyInstanceUid: study?.studyInstanceUid ?? '',
          accessionNumber: study?.accessionNumber ?? '',
          description: study?.description ?? '',
        },
        openedAt: iso(r.openedAt)!,
        expiresAt: iso(r.expiresAt)!,
        closedAt: iso(r.closedAt),
        accesses: counts.get(r.id) ?? 0,
        reviewStatus: r.reviewStatus,
        reviewedBy: r.reviewedBy ? { id: r.reviewedBy, name: reviewer?.name ?? '' } : null,
        reviewedAt: iso(r.reviewedAt),
        reviewNote: r.reviewNote ?? '',
      };
    });
  }

  return {
    async list(query: EmergencyAccessQuery): Promise<EmergencyAccessPage> {
      const limit = query.limit ?? 50;
      const where: Record<string | symbol, unknown>[] = [];
      if (query.status) where.push({ reviewStatus: query.status });
      if (query.cursor) {
        const [openedAt, id] = decodeCursor(query.cursor, ['string', 'string']) as [string, string];
        const at = new Date(openedAt);
        if (Number.isNaN(at.getTime())) throw badRequest('cursor is not valid', 'BAD_CURSOR');
        where.push({ [Op.or]: [{ openedAt: { [Op.lt]: at } }, { openedAt: at, id: { [Op.lt]: id } }] });
      }
      const rows = await models.AccessWindow.findAll({
        where: { [Op.and]: where },
        order: [
          ['openedAt', 'DESC'],
          ['id', 'DESC'],
        ],
        limit: limit + 1,
        raw: true,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: await present(page),
        nextCursor: rows.length > limit && last ? encodeCursor([new Date(last.openedAt).toISOString(), last.id]) : null,
      };
    },

    async review(request: FastifyRequest, id: string, verdict: ReviewVerdict, note: string): Promise<EmergencyAccess> {
      return sequelize.transaction(async (transaction) => {
        const window = await models.AccessWindow.findByPk(id, { transaction, raw: true });
        if (!window) throw notFound('emergency access not found');
        const study = await models.Study.findByPk(window.studyRef, { transaction, paranoid: false, raw: true });
        request.auditSubject = {
          objectType: 'EmergencyAccess',
          objectId: id,
          patientId: study?.patientId,
          studyUid: study?.studyInstanceUid,
        };
        const reviewedAt = new Date();
        const [updated] = await models.AccessWindow.update(
          { reviewStatus: verdict, reviewedBy: request.principal!.userId, reviewedAt, reviewNote: note },
          { where: { id, reviewStatus: 'pending' }, transaction },
        );
        if (updated !== 1) throw conflict('this emergency access was already reviewed', 'ALREADY_REVIEWED');
        await auditInTransaction(request, transaction, {
          eventId: 'SecurityAlert',
          action: 'U',
          objectType: 'EmergencyAccess',
          objectId: id,
          patientId: study?.patientId || undefined,
          studyUid: study?.studyInstanceUid,
          details: { event: 'emergency-access-reviewed', verdict, emergencyAccess: [id] },
        });
        const row = await models.AccessWindow.findByPk(id, { transaction, raw: true });
        return (await present([row!]))[0]!;
      });
    },
  };
}
