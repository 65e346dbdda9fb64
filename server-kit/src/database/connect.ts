/**
 * The one way the API and the sync-server open DATABASE_URL, so both treat the database they share
 * alike (DUR-1): SQLite in WAL mode with a busy timeout (both may have the same file open), or
 * PostgreSQL, or SQL Server through tedious. Only these three are accepted, and all models and
 * migrations stay within the types they share.
 */
import path from 'node:path';
import { type Dialect, Sequelize, Transaction } from 'sequelize';
import { configureSqliteConnections, restrictToOwner, serialiseSqliteTransactions } from './sqlite';

export interface DatabaseOptions {
  /** Most connections the PostgreSQL or SQL Server pool opens; each service sizes its own. */
  poolMax: number;
  /** Accept SQL Server's self-signed certificate (encryption stays on). */
  trustServerCertificate: boolean;
}

export function dialectOf(url: string): Dialect {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  if (url.startsWith('mssql://')) return 'mssql';
  throw new Error('DATABASE_URL: unsupported scheme (use sqlite:, postgres:// or mssql://)');
}

/** `sqlite:/abs/path.db`, `sqlite:relative.db` or `sqlite::memory:`. */
export function sqliteStorage(url: string): string {
  const rest = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  return rest === ':memory:' ? rest : path.resolve(rest);
}

export async function connectDatabase(url: string, options: DatabaseOptions): Promise<Sequelize> {
  const dialect = dialectOf(url);
  const common = { logging: false as const, benchmark: false };
  const pool = { max: options.poolMax, min: 0, idle: 10_000 };
  let sequelize: Sequelize;
  // Drivers load on demand: tedious alone pulls in the Azure SDK (tens of MB of RSS).
  if (dialect === 'sqlite') {
    const { default: sqlite3 } = await import('sqlite3');
    const storage = sqliteStorage(url);
    if (storage !== ':memory:') restrictToOwner(storage);
    sequelize = new Sequelize({
      ...common,
      dialect,
      dialectModule: sqlite3,
      storage,
      // IMMEDIATE takes the write lock at BEGIN: two writers (two processes, or the API and the
      // sync-server) queue on the busy timeout instead of failing when both upgrade a read lock.
      transactionType: Transaction.TYPES.IMMEDIATE,
      retry: { max: 5, match: [/SQLITE_BUSY/] },
    });
    configureSqliteConnections(sequelize);
    serialiseSqliteTransactions(sequelize);
    await sequelize.query('PRAGMA journal_mode=WAL');
  } else if (dialect === 'postgres') {
    const { default: pg } = await import('pg');
    sequelize = new Sequelize(url, { ...common, dialect, dialectModule: pg, pool });
  } else {
    const tedious = await import('tedious');
    sequelize = new Sequelize(url, {
      ...common,
      dialect,
      dialectModule: tedious,
      dialectOptions: { options: { encrypt: true, trustServerCertificate: options.trustServerCertificate } },
      pool,
    });
  }
  await sequelize.authenticate();
  return sequelize;
}
