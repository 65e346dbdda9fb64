/**
 * A user's own macros. Writes are keyed by the id the client made, so a create or edit made
 * offline and replayed (once or many times) changes the row once; only a change is audited. Another
 * user's macro is answered as if it did not exist. Deleting leaves a tombstone, so an edit queued
 * on another device cannot bring a deleted macro back.
 */
import { type Macro, type MacroWrite, searchMacros } from '@pacs/shared';
import type { FastifyRequest } from 'fastify';
import { UniqueConstraintError } from 'sequelize';
import { auditInTransaction } from '../audit/recorder';
import type { MacroAttributes } from '../db/macro-models';
import type { Models } from '../db/models';
import { conflict, notFound } from '../http-errors';

type Db = { models: Pick<Models, 'UserMacro'>; sequelize: import('sequelize').Sequelize };

export const presentMacro = (row: MacroAttributes): Macro => ({
  id: row.id,
  trigger: row.trigger,
  label: row.label,
  text: row.text,
  version: row.version,
  updatedAt: new Date(row.updatedAt).toISOString(),
});

export async function listMacros(db: Db, userId: string, query: string | undefined): Promise<Macro[]> {
  const rows = await db.models.UserMacro.findAll({ where: { userId, deletedAt: null }, order: [['trigger', 'ASC']], raw: true });
  return searchMacros(rows.map(presentMacro), query ?? '');
}

export type PutOutcome = 'created' | 'updated' | 'unchanged';

export async function putMacro(
  db: Db,
  request: FastifyRequest,
  userId: string,
  id: string,
  write: MacroWrite,
): Promise<{ macro: Macro; outcome: PutOutcome }> {
  const attempt = () =>
    db.sequelize.transaction(async (transaction) => {
      const existing = await db.models.UserMacro.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
      if (existing && existing.get('userId') !== userId) throw notFound('macro not found');
      if (existing?.get('deletedAt')) throw conflict('the macro was deleted', 'MACRO_DELETED');
      const taken = await db.models.UserMacro.findOne({ where: { userId, trigger: write.trigger, deletedAt: null }, transaction });
      if (taken && taken.get('id') !== id) throw conflict(`another of your macros is .${write.trigger}`, 'TRIGGER_TAKEN');
      if (existing) {
        const before = existing.get();
        if (before.trigger === write.trigger && before.label === write.label && before.text === write.text) {
          return { macro: presentMacro(before), outcome: 'unchanged' as const };
        }
        await existing.update({ ...write, version: before.version + 1 }, { transaction });
        await auditInTransaction(request, transaction, {
          eventId: 'ApplicationActivity',
          action: 'U',
          objectType: 'Macro',
          objectId: id,
          details: { trigger: write.trigger },
        });
        return { macro: presentMacro(existing.get()), outcome: 'updated' as const };
      }
      const created = await db.models.UserMacro.create({ id, userId, ...write }, { transaction });
      await auditInTransaction(request, transaction, {
        eventId: 'ApplicationActivity',
        action: 'C',
        objectType: 'Macro',
        objectId: id,
        details: { trigger: write.trigger },
      });
      return { macro: presentMacro(created.get()), outcome: 'created' as const };
    });
  try {
    return await attempt();
  } catch (error) {
    // Two replays of one create at once: the loser finds the winner's row.
    if (error instanceof UniqueConstraintError) return attempt();
    throw error;
  }
}

/** True when this call deleted it; false when it was already deleted. */
export async function deleteMacro(db: Db, request: FastifyRequest, userId: string, id: string): Promise<boolean> {
  return db.sequelize.transaction(async (transaction) => {
    const existing = await db.models.UserMacro.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE });
    if (!existing || existing.get('userId') !== userId) throw notFound('macro not found');
    if (existing.get('deletedAt')) return false;
    await existing.update({ deletedAt: new Date(), version: existing.get('version') + 1 }, { transaction });
    await auditInTransaction(request, transaction, {
      eventId: 'ApplicationActivity',
      action: 'D',
      objectType: 'Macro',
      objectId: id,
      details: { trigger: existing.get('trigger') },
    });
    return true;
  });
}
