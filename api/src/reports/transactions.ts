/**
 * Write transactions of the reporting routes, one at a time per process on SQLite.
 *
 * SQLite has one writer anyway, and node-sqlite3 runs every statement on libuv's thread pool
 * (4 threads by default). With IMMEDIATE transactions, four requests waiting in BEGIN IMMEDIATE
 * (busy timeout) occupy all four threads, so the transaction that holds the write lock cannot run
 * its next statement or COMMIT: every writer stalls until the busy timeout and fails with
 * SQLITE_BUSY. Measured with 10 concurrent finalizes. Queueing the transactions here keeps at
 * most one of ours waiting on the lock. PostgreSQL and SQL Server are not serialised.
 */
import type { Sequelize, Transaction } from 'sequelize';

const queues = new WeakMap<Sequelize, { tail: Promise<unknown> }>();

export function writeTransaction<T>(sequelize: Sequelize, work: (transaction: Transaction) => Promise<T>): Promise<T> {
  if (sequelize.getDialect() !== 'sqlite') return sequelize.transaction(work);
  let queue = queues.get(sequelize);
  if (!queue) {
    queue = { tail: Promise.resolve() };
    queues.set(sequelize, queue);
  }
  const run = queue.tail.then(
    () => sequelize.transaction(work),
    () => sequelize.transaction(work),
  );
  queue.tail = run.catch(() => undefined);
  return run;
}
