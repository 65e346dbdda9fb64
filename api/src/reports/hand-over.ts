/**
 * A study changed hands: whoever lost read-write on its report document (documentModeFor, e.g. the
 * resident whose study an attending took over) loses it on their open sockets too, at once
 * (sync-server REVOKE-2). Session tokens are checked only when a socket opens.
 */
import { documentModeFor, reportDocumentName } from '@pacs/shared';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Op } from 'sequelize';
import { SyncClient } from './sync-client';

export async function downgradeAfterReassignment(
  app: FastifyInstance,
  log: FastifyBaseLogger,
  studyId: string,
  previousAssignee: string | null,
  newAssignee: string | null,
): Promise<void> {
  const { models } = app.db;
  const { syncUrl, syncServiceToken, syncTimeoutMs } = app.config;
  if (!syncServiceToken) return; // reporting is off: there are no report sockets
  const report = await models.Report.findOne({ where: { primarySlot: studyId }, raw: true });
  if (!report) return;
  const candidates = [...new Set([previousAssignee, report.authorId])].filter((id): id is string => id !== null && id !== newAssignee);
  if (candidates.length === 0) return;
  const users = await models.User.findAll({ where: { id: { [Op.in]: candidates } }, attributes: ['id', 'role'], raw: true });
  const facts = { status: report.status, authorId: report.authorId, assigneeId: newAssignee, isAddendum: false, finalizing: false };
  const lost = users.filter((u) => documentModeFor({ role: u.role, userId: u.id }, facts) !== 'rw').map((u) => u.id);
  if (lost.length === 0) return;
  try {
    await new SyncClient(syncUrl, syncServiceToken, syncTimeoutMs).readOnly(reportDocumentName(report.id), lost);
  } catch (error) {
    log.error({ err: error, reportId: report.id }, 'document could not be made read-only after reassignment');
  }
}
