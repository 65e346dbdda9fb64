/**
 * `npm run restore -- DIR [--replace]`: the installation (as its variables name it) made what the
 * backup in DIR holds. Everything that can refuse does so before anything is touched: a folder that
 * is not a whole backup, a file that differs from the manifest, a backup of a newer release, a
 * system still running, a target that already holds data (unless --replace, which moves a SQLite
 * file and Orthanc's files aside and replaces a PostgreSQL schema inside the restoring
 * transaction). Then the database, Orthanc, and what every restore needs (db/after-restore.ts in
 * the API: a new database epoch, offline read records allowed to continue).
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterRestore } from '@pacs/api/db/after-restore';
import { connectDatabase } from '@pacs/api/db/connect';
import { migrate } from '@pacs/api/db/migrate';
import { defineModels } from '@pacs/api/db/models';
import { countsOf, restorePostgres, restoreSqlite, tablesIn } from './database';
import { BackupError, type Installation, runningSystem } from './installation';
import { type DatabaseCounts, readManifest, refuseNewerSchema, verifyEntry } from './manifest';
import { isEmptyDir, listedFiles, rebuildOrthanc, restoreOrthancFiles, verifyOrthancFiles } from './orthanc-files';

export interface RestoreResult {
  counts: DatabaseCounts;
  epoch: string;
  orthancInstances: number | null;
  movedAside: string[];
}

export async function restore(
  installation: Installation,
  dir: string,
  replace: boolean,
  say: (line: string) => void,
): Promise<RestoreResult> {
  const manifest = readManifest(dir);
  refuseNewerSchema(manifest);
  if (manifest.database.dialect !== installation.dialect)
    throw new BackupError(`the backup holds a ${manifest.database.dialect} database; DATABASE_URL names a ${installation.dialect} one`);
  if (manifest.orthanc.index && !installation.orthancIndexUrl)
    throw new BackupError(
      "the backup holds Orthanc's index from PostgreSQL: set PACS_ORTHANC_INDEX_URL to the database to restore it into",
    );
  const pid = runningSystem(installation);
  if (pid !== null) throw new BackupError(`the system is running on ${installation.dataDir} (pid ${pid}): stop it first`);
  if (!replace) {
    if ((await tablesIn(installation.databaseUrl)) > 0)
      throw new BackupError('the database already holds tables: restore into an empty one, or pass --replace');
    if (!isEmptyDir(installation.orthancStorageDir))
      throw new BackupError(`Orthanc's storage folder ${installation.orthancStorageDir} is not empty: pass --replace to move it aside`);
    if (installation.orthancIndexUrl && (await tablesIn(installation.orthancIndexUrl)) > 0)
      throw new BackupError("Orthanc's index database already holds tables: restore into an empty one, or pass --replace");
  }
  await verifyEntry(dir, manifest.database);
  await verifyEntry(dir, manifest.orthanc.fileList);
  if (manifest.orthanc.index) await verifyEntry(dir, manifest.orthanc.index);
  const files = listedFiles(dir, manifest.orthanc.fileList);
  await verifyOrthancFiles(dir, files);
  say(`backup of ${manifest.createdAt} checked: ${manifest.counts.studies} studies, ${files.length} Orthanc files`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const movedAside: string[] = [];
  const databaseFile = path.join(dir, manifest.database.file);
  if (installation.dialect === 'sqlite') {
    const moved = restoreSqlite(installation.databaseUrl, databaseFile, replace, stamp);
    if (moved) movedAside.push(moved);
  } else {
    await restorePostgres(installation.databaseUrl, databaseFile, replace);
  }
  if (!isEmptyDir(installation.orthancStorageDir)) {
    const aside = `${installation.orthancStorageDir}.replaced-${stamp}`;
    renameSync(installation.orthancStorageDir, aside);
    movedAside.push(aside);
  }
  let orthancInstances: number | null = null;
  if (manifest.orthanc.index && installation.orthancIndexUrl) {
    await restorePostgres(installation.orthancIndexUrl, path.join(dir, manifest.orthanc.index.file), replace);
    restoreOrthancFiles(dir, files, installation.orthancStorageDir);
  } else {
    const work = mkdtempSync(path.join(os.tmpdir(), 'pacs-restore-orthanc-'));
    try {
      orthancInstances = await rebuildOrthanc(dir, files, installation.orthancStorageDir, work);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    say(`Orthanc: index rebuilt from ${orthancInstances} DICOM files`);
  }

  const sequelize = await connectDatabase(installation.databaseUrl);
  try {
    const counts = await countsOf(sequelize);
    for (const key of Object.keys(manifest.counts) as (keyof DatabaseCounts)[])
      if (counts[key] !== manifest.counts[key])
        throw new BackupError(`the restored database holds ${counts[key]} ${key}, the backup recorded ${manifest.counts[key]}`);
    // An older backup's schema is brought forward now: the epoch below is written with this release's models.
    await migrate(sequelize);
    const { epoch } = await afterRestore(defineModels(sequelize));
    say(`restored: ${counts.studies} studies, ${counts.reports} reports, ${counts.auditRows} audit rows; database epoch ${epoch}`);
    for (const moved of movedAside) say(`kept what was replaced at ${moved}`);
    return { counts, epoch, orthancInstances, movedAside };
  } finally {
    await sequelize.close();
  }
}
