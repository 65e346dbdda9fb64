/**
 * The database: the API's tables and the sync-server's in one snapshot, so a report signed by the
 * API and the document state the sync-server locked for it are both in the backup or both not.
 * SQLite: `VACUUM INTO` (one read transaction; writers go on). PostgreSQL: `pg_dump` on a snapshot
 * exported from the transaction that also counts what the restore will check.
 */
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { connectDatabase, sqliteStorage } from '@pacs/server-kit/database';
import { QueryTypes, type Sequelize, Transaction } from 'sequelize';
import type { DatabaseCounts, Manifest } from './manifest';
import { pgArgs, produce, run } from './processes';

export const open = (url: string) => connectDatabase(url, { poolMax: 2, trustServerCertificate: false });

const COUNTS = `SELECT
  (SELECT count(*) FROM users) AS "users",
  (SELECT count(*) FROM studies WHERE "deletedAt" IS NULL) AS "studies",
  (SELECT count(*) FROM reports WHERE "deletedAt" IS NULL) AS "reports",
  (SELECT count(*) FROM reports WHERE "deletedAt" IS NULL AND "finalSignedAt" IS NOT NULL) AS "signedReports",
  (SELECT count(*) FROM audit_logs) AS "auditRows",
  (SELECT coalesce(max(id), 0) FROM audit_logs) AS "lastAuditId",
  (SELECT count(*) FROM sync_updates) AS "syncUpdates"`;

type Options = { transaction?: Transaction };

export async function countsOf(sequelize: Sequelize, options: Options = {}): Promise<DatabaseCounts> {
  const [row] = await sequelize.query<Record<keyof DatabaseCounts, string | number>>(COUNTS, { type: QueryTypes.SELECT, ...options });
  return Object.fromEntries(Object.entries(row!).map(([key, value]) => [key, Number(value)])) as unknown as DatabaseCounts;
}

export async function ledgersOf(sequelize: Sequelize, options: Options = {}): Promise<Manifest['ledgers']> {
  const names = async (table: string) =>
    (await sequelize.query<{ name: string }>(`SELECT name FROM ${table} ORDER BY name`, { type: QueryTypes.SELECT, ...options })).map(
      (row) => row.name,
    );
  return { pacs_migrations: await names('pacs_migrations'), sync_migrations: await names('sync_migrations') };
}

export interface DatabaseSnapshot {
  counts: DatabaseCounts;
  ledgers: Manifest['ledgers'];
}

/** Writes the database's snapshot to `file`; answers what the snapshot holds. */
export async function backupDatabase(url: string, file: string): Promise<DatabaseSnapshot> {
  const sequelize = await open(url);
  try {
    if (sequelize.getDialect() === 'sqlite') {
      await sequelize.query(`VACUUM INTO '${file.replaceAll("'", "''")}'`);
      const copy = await open(`sqlite:${file}`);
      try {
        return { counts: await countsOf(copy), ledgers: await ledgersOf(copy) };
      } finally {
        await copy.close();
      }
    }
    return await sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.REPEATABLE_READ }, async (transaction) => {
      const [exported] = await sequelize.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot', {
        type: QueryTypes.SELECT,
        transaction,
      });
      const snapshot = exported!.snapshot;
      await dumpPostgres(url, file, snapshot);
      return { counts: await countsOf(sequelize, { transaction }), ledgers: await ledgersOf(sequelize, { transaction }) };
    });
  } finally {
    await sequelize.close();
  }
}

/** `pg_dump` in its custom format (compressed, restorable table by table); on `snapshot` if given. */
export async function dumpPostgres(url: string, file: string, snapshot?: string): Promise<void> {
  const { dbname, env } = pgArgs(url);
  await run({
    command: 'pg_dump',
    args: [
      '--format=custom',
      '--no-owner',
      '--no-privileges',
      `--file=${file}`,
      ...(snapshot ? [`--snapshot=${snapshot}`] : []),
      `--dbname=${dbname}`,
    ],
    env,
  });
}

/**
 * Loads a dump into the database at `url` in one transaction: a failure leaves the database as it
 * was. With `replace`, what the database held is dropped inside that same transaction.
 */
export async function restorePostgres(url: string, file: string, replace: boolean): Promise<void> {
  const { dbname, env } = pgArgs(url);
  const sql = produce('pg_restore', ['--no-owner', '--no-privileges', '--file=-', file], env);
  await Promise.all([
    run({
      command: 'psql',
      args: ['--no-psqlrc', '--quiet', '--single-transaction', '--set=ON_ERROR_STOP=1', `--dbname=${dbname}`],
      env,
      prefix: replace ? 'DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n' : '',
      input: sql.stdout,
    }),
    sql.done,
  ]);
}

/** Tables the database at `url` already holds (a restore target must be empty unless replaced). */
export async function tablesIn(url: string): Promise<number> {
  if (url.startsWith('sqlite:') && !existsSync(sqliteStorage(url))) return 0;
  const sequelize = await open(url);
  try {
    const sql =
      sequelize.getDialect() === 'sqlite'
        ? `SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`
        : `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'`;
    const [row] = await sequelize.query<{ n: string | number }>(sql, { type: QueryTypes.SELECT });
    return Number(row!.n);
  } finally {
    await sequelize.close();
  }
}

/**
 * Puts the backed-up SQLite file in place: copied beside the target, then renamed over it, so a
 * failure leaves no half-written database. A replaced database (with its WAL) is moved aside, not
 * deleted. Answers where it went.
 */
export function restoreSqlite(url: string, file: string, replace: boolean, stamp: string): string | null {
  const target = sqliteStorage(url);
  const staged = `${target}.restoring`;
  copyFileSync(file, staged);
  let movedTo: string | null = null;
  if (replace && existsSync(target)) {
    movedTo = `${target}.replaced-${stamp}`;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(target + suffix)) renameSync(target + suffix, movedTo + suffix);
  }
  for (const suffix of ['-wal', '-shm']) rmSync(target + suffix, { force: true });
  renameSync(staged, target);
  return movedTo;
}
