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

/**
 * One round trip, because the counter's row lock is held from here to COMMIT and every other
 * writer waits for it: callers take the number as late as they can (last statements before commit).
 */
export async function nextChangeSeq(models: Models, transaction: Transaction): Promise<number> {
  const sequelize = models.Counter.sequelize!;
  const sql =
    sequelize.getDialect() === 'mssql'
      ? "UPDATE counters SET value = value + 1 OUTPUT inserted.value WHERE name = 'worklist'"
      : // PostgreSQL and SQLite (3.35+) both have UPDATE … RETURNING.
        "UPDATE counters SET value = value + 1 WHERE name = 'worklist' RETURNING value";
  const [rows] = (await sequelize.query(sql, { transaction, raw: true })) as [Array<{ value: number | string }>, unknown];
  const row = rows[0];
  if (!row) throw new Error('counters row "worklist" is missing (migration 0002)');
  const seq = Number(row.value);
  transaction.afterCommit(() => changeSequenceOf(models).committed(seq));
  return seq;
}

/**
 * What every change to a worklist row writes: its version (optimistic concurrency for clients
 * holding the row) and its place in the change feed (what devices sync from). Spread into the
 * update, last, for the reason nextChangeSeq gives.
 */
export async function studyChangeStamp(
  models: Models,
  current: { version: number },
  transaction: Transaction,
): Promise<{ version: number; changeSeq: number }> {
  return { version: current.version + 1, changeSeq: await nextChangeSeq(models, transaction) };
}

export class ChangeSequence {
  private known = 0;
  private readAt = 0;
  private reading: Promise<number> | null = null;
  private readonly listeners = new Set<(seq: number) => void>();

  constructor(private readonly models: Models) {}

  committed(seq: number): void {
    if (seq <= this.known) return;
    this.known = seq;
    for (const listener of this.listeners) listener(seq);
  }

  /** Called with each new high-water mark (this instance's commits at once, others' when read). */
  onAdvance(listener: (seq: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
