/**
 * Orthanc's images and its index. Orthanc writes each file before the index names it and never
 * changes a file afterwards, so files copied after the database and the index hold everything
 * those name (files newer than them are harmless extras).
 *
 * Orthanc's own SQLite index is opened by Orthanc alone (exclusive locking): it cannot be copied
 * while Orthanc runs, and stopping the archive for a backup is what a backup "while in use" must
 * avoid. So the files are the backup, and a restore rebuilds the index by giving every DICOM file
 * to a temporary Orthanc on the empty storage folder. Orthanc names resources by their DICOM UIDs,
 * so the rebuilt archive has the same identifiers the restored database refers to. With the index
 * in PostgreSQL, the index is dumped and restored as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { settingsFromEnv } from '../../orthanc/config';
import { launchOrthanc } from '../../orthanc/run';
import { BackupError, ORTHANC_SQLITE_INDEX } from './installation';
import { type FileEntry, verifyEntry } from './manifest';
import { freePort } from './processes';

export const FILES_DIR = 'orthanc';
export const FILE_LIST = 'orthanc-files.txt';

interface Listed {
  sha256: string;
  bytes: number;
  file: string;
}

function* walk(root: string, dir = ''): Generator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // removed meanwhile
    throw error;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const relative = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) yield* walk(root, relative);
    else if (entry.isFile() && !(dir === '' && ORTHANC_SQLITE_INDEX.test(entry.name))) yield relative;
  }
}

/** Copies `from` to `to`, hashing what was copied. */
async function copyHashed(from: string, to: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
  await pipeline(
    createReadStream(from),
    async function* (source) {
      for await (const chunk of source) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        yield chunk;
      }
    },
    createWriteStream(to, { mode: 0o600 }),
  );
  return { sha256: hash.digest('hex'), bytes };
}

/** Copies Orthanc's storage into `backupDir`; writes the list of files with their hashes. */
export async function backupOrthancFiles(storageDir: string, backupDir: string): Promise<{ files: number; bytes: number }> {
  const lines: string[] = [];
  let bytes = 0;
  for (const file of walk(storageDir)) {
    try {
      const copied = await copyHashed(path.join(storageDir, file), path.join(backupDir, FILES_DIR, file));
      lines.push(`${copied.sha256}  ${copied.bytes}  ${file}`);
      bytes += copied.bytes;
    } catch (error) {
      // Deleted in Orthanc since the walk saw it: the index copy taken before may still name it,
      // as Orthanc's own index would have after the deletion. Nothing to keep.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  writeFileSync(path.join(backupDir, FILE_LIST), lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
  return { files: lines.length, bytes };
}

export function listedFiles(backupDir: string, list: FileEntry): Listed[] {
  const text = readFileSync(path.join(backupDir, list.file), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const match = /^([0-9a-f]{64}) {2}(\d+) {2}([\w.-]+(?:\/[\w.-]+)*)$/.exec(line);
      const [, sha256, bytes, file] = match ?? [];
      if (!sha256 || !bytes || !file || file.split('/').some((part) => part === '..' || part === '.'))
        throw new BackupError(`${list.file}: a line is not "sha256  bytes  path" within the storage folder`);
      return { sha256, bytes: Number(bytes), file };
    });
}

/** Refuses a backup whose Orthanc files are missing or differ from the list, before a restore touches anything. */
export async function verifyOrthancFiles(backupDir: string, files: Listed[]): Promise<void> {
  for (const listed of files) await verifyEntry(backupDir, { ...listed, file: `${FILES_DIR}/${listed.file}` }, 'the list');
}

/** Copies every listed file (checked by verifyOrthancFiles) into the storage folder. */
export function restoreOrthancFiles(backupDir: string, files: Listed[], storageDir: string): void {
  for (const listed of files) {
    const to = path.join(storageDir, listed.file);
    mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
    copyFileSync(path.join(backupDir, FILES_DIR, listed.file), to);
  }
}

async function isDicom(file: string): Promise<boolean> {
  const handle = await openFile(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 128);
    return bytesRead === 4 && magic.toString('latin1') === 'DICM';
  } finally {
    await handle.close();
  }
}

/**
 * Rebuilds Orthanc's SQLite index in the empty `storageDir`: a temporary Orthanc (loopback, its own
 * ports and password, no webhook) receives every DICOM file of the backup (checked by
 * verifyOrthancFiles). Orthanc's other attachments are derived from the DICOM files and made again on demand.
 */
export async function rebuildOrthanc(backupDir: string, files: Listed[], storageDir: string, workDir: string): Promise<number> {
  const password = randomBytes(24).toString('base64url');
  const settings = {
    ...settingsFromEnv({
      PACS_DATA_DIR: workDir,
      PACS_ORTHANC_STORAGE_DIR: storageDir,
      PACS_MWL_DIR: path.join(workDir, 'worklists'),
      PACS_ORTHANC_HTTP_PORT: String(await freePort()),
      PACS_DICOM_PORT: String(await freePort()),
      PACS_ORTHANC_USER: 'pacs-restore',
      PACS_ORTHANC_PASSWORD: password,
      PACS_WEBHOOK_URL: '',
    }),
    index: undefined,
  };
  mkdirSync(path.join(workDir, 'worklists'), { recursive: true, mode: 0o700 });
  const orthanc = await launchOrthanc(settings, { dataDir: workDir });
  const authorization = `Basic ${Buffer.from(`pacs-restore:${password}`).toString('base64')}`;
  let instances = 0;
  try {
    await orthanc.ready;
    for (const listed of files) {
      const file = path.join(backupDir, FILES_DIR, listed.file);
      if (!(await isDicom(file))) continue;
      const body = readFileSync(file);
      const response = await fetch(`${orthanc.httpUrl}/instances`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/dicom' },
        body,
      });
      await response.arrayBuffer();
      if (!response.ok)
        throw new BackupError(`Orthanc refused ${FILES_DIR}/${listed.file} (HTTP ${response.status}); see ${orthanc.logFile}`);
      instances += 1;
    }
  } finally {
    await orthanc.stop();
  }
  return instances;
}

export const isEmptyDir = (dir: string) => !existsSync(dir) || readdirSync(dir).length === 0;
