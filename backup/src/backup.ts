/**
 * `npm run backup -- DIR`: a backup of a running (or stopped) installation into a new folder, in
 * the order that keeps it consistent without stopping anything: the database (one snapshot of the
 * API's and the sync-server's tables), then Orthanc's index if it is in PostgreSQL, then Orthanc's
 * files (see orthanc-files.ts), then the manifest, last, so an interrupted backup is not taken for
 * a whole one.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { backupDatabase, dumpPostgres } from './database';
import { BackupError, type Installation } from './installation';
import { entryOf, FORMAT, type Manifest, writeManifest } from './manifest';
import { backupOrthancFiles, FILE_LIST } from './orthanc-files';

export async function backup(installation: Installation, dir: string, say: (line: string) => void): Promise<Manifest> {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new BackupError(`${dir} is not empty: back up into a new folder`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const started = Date.now();
  const databaseFile = installation.dialect === 'sqlite' ? 'database.sqlite' : 'database.pgdump';
  const snapshot = await backupDatabase(installation.databaseUrl, path.join(dir, databaseFile));
  say(`database: ${snapshot.counts.studies} studies, ${snapshot.counts.reports} reports, ${snapshot.counts.auditRows} audit rows`);
  let index = null;
  if (installation.orthancIndexUrl) {
    await dumpPostgres(installation.orthancIndexUrl, path.join(dir, 'orthanc-index.pgdump'));
    index = await entryOf(dir, 'orthanc-index.pgdump');
  }
  const files = await backupOrthancFiles(installation.orthancStorageDir, dir);
  say(`Orthanc: ${files.files} files, ${(files.bytes / 2 ** 20).toFixed(1)} MiB${index ? ', index from PostgreSQL' : ''}`);
  const manifest: Manifest = {
    format: FORMAT,
    createdAt: new Date(started).toISOString(),
    ledgers: snapshot.ledgers,
    database: { ...(await entryOf(dir, databaseFile)), dialect: installation.dialect },
    counts: snapshot.counts,
    orthanc: { index, fileList: await entryOf(dir, FILE_LIST), ...files },
  };
  writeManifest(dir, manifest);
  say(`backup complete in ${((Date.now() - started) / 1000).toFixed(1)} s: ${dir}`);
  return manifest;
}
