/**
 * Sequence numbers for the worklist delta feed. Taken from the `counters` row inside the
 * transaction that changes the study: the row lock makes later transactions wait, so numbers
 * are handed out in commit order and a client that has seen N has seen every change up to N.
 *
 * `ChangeSequence` also tells the worklist cache whether anything changed: this instance's own
 * commits are known at once; changes committed through another API instance are noticed within
 * REFRESH_MS, by reading the counter row at most that often.
 */
import type { Transaction } from 'sequelize';
import type { Models } from '../db/models';

const REFRESH_MS = 250;

export async function nextChangeSeq(models: Models, transaction: Transaction): Promise<number> {
  await models.Counter.increment('value', { by: 1, where: { name: 'worklist' }, transaction });
  const row = await models.Counter.findByPk('worklist', { transaction, raw: true });
  if (!row) throw new Error('counters row "worklist" is missing (migration 0002)');
  const seq = Number(row.value);
  transaction.afterCommit(() => changeSequenceOf(models).committed(seq));
  return seq;
}

export class ChangeSequence {
  private known = 0;
  private readAt = 0;
  private reading: Promise<number> | null = null;

  constructor(private readonly models: Models) {}

  committed(seq: number): void {
    if (seq > this.known) this.known = seq;
  }

  async current(): Promise<number> {
    if (Date.now() - this.readAt < REFRESH_MS) return this.known;
    this.reading ??= this.models.Counter.findByPk('worklist', { raw: true })
      .then((row) => {
        this.committed(Number(row?.value ?? 0));
        this.readAt = Date.now();
        return this.known;
      })
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }
}

const sequences = new WeakMap<Models, ChangeSequence>();
/** One tracker per database (models are per Sequelize instance). */
export function changeSequenceOf(models: Models): ChangeSequence {
  let sequence = sequences.get(models);
  if (!sequence) {
    sequence = new ChangeSequence(models);
    sequences.set(models, sequence);
  }
  return sequence;
}
