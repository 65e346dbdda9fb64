import { DataTypes, type Model, type Sequelize } from 'sequelize';

/** A model instance: Sequelize's methods plus the attribute getters it defines for each column. */
export type Row<T extends object, Optional extends keyof T = never> = Model<T, Omit<T, Optional> & Partial<Pick<T, Optional>>> & T;
export type Timestamps = { createdAt: Date; updatedAt: Date };

/** Thrown by the hooks of a table that is only ever appended to (audit trail, report versions). */
export class AppendOnlyError extends Error {
  override name = 'AppendOnlyError';
}

/** Refuses every update and delete of a model's rows, through instances and in bulk. */
export function appendOnly(model: { addHook(hook: string, fn: () => never): unknown }, table: string): void {
  const refuse = (): never => {
    throw new AppendOnlyError(`${table} is append-only`);
  };
  for (const hook of ['beforeUpdate', 'beforeBulkUpdate', 'beforeDestroy', 'beforeBulkDestroy', 'beforeUpsert'])
    model.addHook(hook, refuse);
}

/**
 * Column types shared by all three dialects. Audit and outbox sequences are BIGINT on the server
 * databases; SQLite's AUTOINCREMENT works only on INTEGER (which is 64-bit there anyway).
 */
export function sequenceType(sequelize: Sequelize) {
  return sequelize.getDialect() === 'sqlite' ? DataTypes.INTEGER : DataTypes.BIGINT;
}
