/**
 * Where an installation keeps what a backup holds, read from the same variables the services read
 * (DEPLOYMENT.md): the database (DATABASE_URL, default SQLite in PACS_DATA_DIR), Orthanc's storage
 * (PACS_ORTHANC_STORAGE_DIR, default PACS_DATA_DIR/orthanc) and Orthanc's index (in PostgreSQL
 * with PACS_ORTHANC_INDEX_URL, otherwise Orthanc's own SQLite file inside the storage folder).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { databaseUrlOf } from '@pacs/server-kit/config';
import { dialectOf } from '@pacs/server-kit/database';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** Orthanc's SQLite index inside its storage folder: never copied as a file (see orthanc-files.ts). */
export const ORTHANC_SQLITE_INDEX = /^index(-wal|-shm|-journal)?$/;

export interface Installation {
  dataDir: string;
  databaseUrl: string;
  dialect: 'sqlite' | 'postgres';
  orthancStorageDir: string;
  /** PostgreSQL URL of Orthanc's index, or null when Orthanc keeps it in SQLite. */
  orthancIndexUrl: string | null;
  /** Written by `npm start` while the system runs. */
  pidFile: string;
}

export class BackupError extends Error {
  override name = 'BackupError';
}

export function installationFromEnv(env: NodeJS.ProcessEnv = process.env): Installation {
  const dataDir = path.resolve(env.PACS_DATA_DIR || path.join(REPO_ROOT, 'data'));
  const databaseUrl = databaseUrlOf(env.DATABASE_URL || undefined, dataDir);
  const dialect = dialectOf(databaseUrl);
  if (dialect !== 'sqlite' && dialect !== 'postgres')
    throw new BackupError('SQL Server is backed up with BACKUP DATABASE and restored with RESTORE DATABASE (DEPLOYMENT.md, Backups)');
  return {
    dataDir,
    databaseUrl,
    dialect,
    orthancStorageDir: path.resolve(env.PACS_ORTHANC_STORAGE_DIR || path.join(dataDir, 'orthanc')),
    orthancIndexUrl: env.PACS_ORTHANC_INDEX_URL || null,
    pidFile: path.join(dataDir, 'pacs.pid'),
  };
}

/** The pid of a running `npm start` on this data directory, if there is one. */
export function runningSystem(installation: Installation): number | null {
  if (!existsSync(installation.pidFile)) return null;
  const pid = Number(readFileSync(installation.pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: alive but someone else's; ESRCH: a pid file left by a crash.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
