/**
 * One Sequelize instance from DATABASE_URL: the API's database (DUR-1). Same dialect rules as the
 * API (api/src/db/connect.ts): SQLite in WAL mode with a busy timeout (the API and the sync-server
 * may share one file), PostgreSQL, or SQL Server through tedious.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { type Dialect, Sequelize, Transaction } from 'sequelize';

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

const SQLITE_BUSY_TIMEOUT_MS = 10_000;

export async function connectDatabase(url: string): Promise<Sequelize> {
  const dialect = dialectOf(url);
  const common = { logging: false as const, benchmark: false };
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
      // IMMEDIATE takes the write lock at BEGIN: two writers (API and sync-server) queue on the
      // busy timeout instead of failing when both try to upgrade a read lock.
      transactionType: Transaction.TYPES.IMMEDIATE,
      retry: { max: 5, match: [/SQLITE_BUSY/] },
    });
    configureSqliteConnections(sequelize);
    serialiseSqliteTransactions(sequelize);
    await sequelize.query('PRAGMA journal_mode=WAL');
  } else if (dialect === 'postgres') {
    const { default: pg } = await import('pg');
    sequelize = new Sequelize(url, { ...common, dialect, dialectModule: pg, pool: { max: 5, min: 0, idle: 10_000 } });
  } else {
    const tedious = await import('tedious');
    sequelize = new Sequelize(url, {
      ...common,
      dialect,
      dialectModule: tedious,
      dialectOptions: { options: { encrypt: true, trustServerCertificate: process.env.PACS_MSSQL_TRUST_CERT === 'true' } },
      pool: { max: 5, min: 0, idle: 10_000 },
    });
  }
  await sequelize.authenticate();
  return sequelize;
}

/**
 * The database holds patient data: owner-only (0600), also when an older version left it 0644.
 * SQLite creates a new file with the process umask and gives its -wal/-shm files the database
 * file's mode, so the file is created (or tightened) before SQLite opens it.
 */
function restrictToOwner(storage: string): void {
  mkdirSync(path.dirname(storage), { recursive: true, mode: 0o700 });
  closeSync(openSync(storage, 'a', 0o600));
  for (const file of [storage, `${storage}-wal`, `${storage}-shm`, `${storage}-journal`]) {
    try {
      chmodSync(file, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/**
 * Sequelize's SQLite dialect opens a fresh sqlite3 connection per transaction and exposes no
 * connect hook, so the busy timeout (wait for the other writer instead of failing) is set here.
 */
function configureSqliteConnections(sequelize: Sequelize): void {
  type SqliteConnection = { configure(option: 'busyTimeout', ms: number): void };
  const manager = sequelize.connectionManager as unknown as {
    getConnection(options?: unknown): Promise<SqliteConnection>;
  };
  const original = manager.getConnection.bind(manager);
  const configured = new WeakSet<SqliteConnection>();
  manager.getConnection = async (options?: unknown) => {
    const connection = await original(options);
    if (!configured.has(connection)) {
      connection.configure('busyTimeout', SQLITE_BUSY_TIMEOUT_MS);
      configured.add(connection);
    }
    return connection;
  };
}

/**
 * One managed transaction at a time per process on SQLite: node-sqlite3 runs statements on libuv's
 * 4-thread pool, and several transactions waiting in BEGIN IMMEDIATE would occupy every thread
 * while the lock holder waits for one to COMMIT (seen as 10 s stalls locking several documents
 * at once). Managed transactions here never nest.
 */
function serialiseSqliteTransactions(sequelize: Sequelize): void {
  const original = sequelize.transaction.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  const queued = (...args: unknown[]) => {
    if (!args.some((arg) => typeof arg === 'function')) return original(...args);
    const run = tail.then(
      () => original(...args),
      () => original(...args),
    );
    tail = run.catch(() => undefined);
    return run;
  };
  (sequelize as unknown as { transaction: typeof queued }).transaction = queued;
}
