/**
 * A backup's table of contents, written last (a folder without it is an interrupted backup) and
 * read first by a restore, which trusts nothing in the folder it does not check against it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MIGRATION_NAMES as API_MIGRATIONS } from '@pacs/api/db/migrate';
import { MIGRATION_NAMES as SYNC_MIGRATIONS } from '@pacs/sync-server/db/migrate';
import { BackupError } from './installation';

export const MANIFEST_FILE = 'manifest.json';
export const FORMAT = 'pacs-backup/1';

/** What restore checks the restored database against: taken inside the backup's own snapshot. */
export interface DatabaseCounts {
  users: number;
  studies: number;
  reports: number;
  signedReports: number;
  auditRows: number;
  lastAuditId: number;
  syncUpdates: number;
}

export interface FileEntry {
  file: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  createdAt: string;
  /** The ledgers of both services' migrations in the backed-up database. */
  ledgers: { pacs_migrations: string[]; sync_migrations: string[] };
  database: FileEntry & { dialect: 'sqlite' | 'postgres' };
  counts: DatabaseCounts;
  orthanc: {
    /** A PostgreSQL dump of Orthanc's index, or null: the index is rebuilt from the files. */
    index: FileEntry | null;
    /** One line per stored file: `sha256  bytes  relative/path`. */
    fileList: FileEntry;
    files: number;
    bytes: number;
  };
}

export async function sha256Of(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export async function entryOf(dir: string, file: string): Promise<FileEntry> {
  return { file, ...(await sha256Of(path.join(dir, file))) };
}

export function writeManifest(dir: string, manifest: Manifest): void {
  writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
}

/** The manifest of the backup in `dir`, or a refusal saying what is wrong with it. */
export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw new BackupError(`${dir} holds no ${MANIFEST_FILE}: not a backup, or one that did not finish`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch {
    throw new BackupError(`${MANIFEST_FILE} is not valid JSON`);
  }
  if (manifest?.format !== FORMAT)
    throw new BackupError(`${MANIFEST_FILE}: format ${JSON.stringify(manifest?.format)}, this release reads ${FORMAT}`);
  const names = (value: unknown) => Array.isArray(value) && value.every((v) => typeof v === 'string');
  if (!names(manifest.ledgers?.pacs_migrations) || !names(manifest.ledgers?.sync_migrations))
    throw new BackupError(`${MANIFEST_FILE}: the migration ledgers are missing`);
  for (const entry of [manifest.database, manifest.orthanc?.fileList, ...(manifest.orthanc?.index ? [manifest.orthanc.index] : [])]) {
    if (typeof entry?.file !== 'string' || !/^[\w.-]+$/.test(entry.file) || !/^[0-9a-f]{64}$/.test(entry.sha256 ?? ''))
      throw new BackupError(`${MANIFEST_FILE}: a file entry is malformed`);
  }
  if (manifest.database.dialect !== 'sqlite' && manifest.database.dialect !== 'postgres')
    throw new BackupError(`${MANIFEST_FILE}: unknown database dialect`);
  return manifest;
}

/**
 * A backup of a newer release holds a schema this one does not know: restoring it would start
 * services on tables they would misread, so it is refused, naming the migrations.
 */
export function refuseNewerSchema(manifest: Manifest): void {
  for (const [ledger, known] of [
    ['pacs_migrations', API_MIGRATIONS],
    ['sync_migrations', SYNC_MIGRATIONS],
  ] as const) {
    const unknown = manifest.ledgers[ledger].filter((name) => !known.includes(name));
    if (unknown.length > 0)
      throw new BackupError(
        `the backup was made by a newer release (${ledger}: ${unknown.join(', ')} unknown to this one): restore it with that release or a later one`,
      );
  }
}

/** Refuses a file whose content is not what `against` (the manifest, a file list) recorded: damaged or altered. */
export async function verifyEntry(dir: string, entry: FileEntry, against = 'the manifest'): Promise<void> {
  const file = path.join(dir, entry.file);
  if (!existsSync(file)) throw new BackupError(`${entry.file} is missing from the backup`);
  const actual = await sha256Of(file);
  if (actual.sha256 !== entry.sha256 || actual.bytes !== entry.bytes)
    throw new BackupError(`${entry.file} does not match ${against} (damaged or altered since the backup)`);
}
