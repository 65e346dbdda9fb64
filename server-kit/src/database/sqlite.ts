/**
 * What SQLite needs beyond Sequelize's dialect: an owner-only database file, a busy timeout on
 * every connection, and one managed transaction at a time per process.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import type { Sequelize } from 'sequelize';

const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * The database holds patient data: owner-only (0600, its directory 0700 when created), also when
 * an older version left it 0644. SQLite creates a new file with the process umask and gives its
 * -wal/-shm files the database file's mode, so the file is created (or tightened) before SQLite
 * opens it. Either server may open the shared file first, so both go through here.
 */
export function restrictToOwner(storage: string): void {
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
 * connect hook, so what is set per connection is set here, once per connection: the busy timeout
 * (wait for the other writer instead of failing) and synchronous=NORMAL. In WAL mode NORMAL loses
 * no commit to a process crash, only the last ones to a power cut; set on every connection, so no
 * transaction pays for FULL's fsync on each commit.
 */
export function configureSqliteConnections(sequelize: Sequelize): void {
  type SqliteConnection = {
    configure(option: 'busyTimeout', ms: number): void;
    run(sql: string, callback: (error: Error | null) => void): void;
  };
  const manager = sequelize.connectionManager as unknown as {
    getConnection(options?: unknown): Promise<SqliteConnection>;
  };
  const original = manager.getConnection.bind(manager);
  const configured = new WeakSet<SqliteConnection>();
  manager.getConnection = async (options?: unknown) => {
    const connection = await original(options);
    if (!configured.has(connection)) {
      connection.configure('busyTimeout', SQLITE_BUSY_TIMEOUT_MS);
      await new Promise<void>((resolve, reject) =>
        connection.run('PRAGMA synchronous=NORMAL', (error) => (error ? reject(error) : resolve())),
      );
      configured.add(connection);
    }
    return connection;
  };
}

/**
 * One managed transaction at a time per process on SQLite. SQLite has one writer anyway, and
 * node-sqlite3 runs every statement on libuv's pool (4 threads): four transactions waiting in
 * BEGIN IMMEDIATE would hold all four threads while the transaction that owns the write lock
 * cannot get one to COMMIT, and everything stalls until the busy timeout (seen as 10 s stalls
 * when several documents were locked at once). Managed transactions must not nest (none does).
 */
export function serialiseSqliteTransactions(sequelize: Sequelize): void {
  const original = sequelize.transaction.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  const queued = (...args: unknown[]) => {
    const managed = args.some((arg) => typeof arg === 'function');
    if (!managed) return original(...args);
    const run = tail.then(
      () => original(...args),
      () => original(...args),
    );
    tail = run.catch(() => undefined);
    return run;
  };
  (sequelize as unknown as { transaction: typeof queued }).transaction = queued;
}

interface SqliteReader {
  all(sql: string, parameters: unknown[], callback: (error: Error | null, rows: unknown[]) => void): void;
}

/**
 * A SELECT straight through the driver, on the connection Sequelize uses outside transactions; rows
 * as the driver gives them, as a raw Sequelize read does. For reads on a hot path: Sequelize's
 * SQLite query formats a stack trace for every statement, in case it fails (under tsx's source maps
 * ~0.1 ms, a tenth of an audit page's CPU), and first asks for the table's columns when the table
 * name is backtick-quoted. Statements must be complete: no parameters, values escaped by
 * `sequelize.escape`.
 */
export async function sqliteSelect<T>(sequelize: Sequelize, sql: string): Promise<T[]> {
  const manager = sequelize.connectionManager as unknown as { getConnection(options: object): Promise<SqliteReader> };
  const connection = await manager.getConnection({});
  return new Promise((resolve, reject) => connection.all(sql, [], (error, rows) => (error ? reject(error) : resolve(rows as T[]))));
}
