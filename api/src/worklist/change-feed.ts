/**
 * Sequence numbers for the worklist delta feed. Taken from the `counters` row inside the
 * transaction that changes the study: the row lock makes later transactions wait, so numbers
 * are handed out in commit order and a client that has seen N has seen every change up to N.
 */
import type { Transaction } from 'sequelize';
import type { Models } from '../db/models';

export async function nextChangeSeq(models: Models, transaction: Transaction): Promise<number> {
  await models.Counter.increment('value', { by: 1, where: { name: 'worklist' }, transaction });
  const row = await models.Counter.findByPk('worklist', { transaction, raw: true });
  if (!row) throw new Error('counters row "worklist" is missing (migration 0002)');
  return Number(row.value);
}

export async function currentChangeSeq(models: Models): Promise<number> {
  const row = await models.Counter.findByPk('worklist', { raw: true });
  return Number(row?.value ?? 0);
}
