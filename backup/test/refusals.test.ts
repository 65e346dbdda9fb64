/**
 * Backups that must not be restored, restores that must not run, and commands typed wrong: each is
 * refused with a reason (the command exits with status 2), and the installation it was aimed at is
 * left as it was. The restores run in this process, the commands as the operator types them.
 * The backup folder is untrusted input (a copy from elsewhere, an old disk): its manifest, its
 * files and its file list are each altered here the way damage or an attacker would.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestApp, type TestApp } from '@pacs/api/testing';
import { createTestDatabase, type TestDatabase, testDialect } from '@pacs/api/testing/database';
import { seedStudy } from '@pacs/api/testing/studies';
import { migrate as migrateSyncTables } from '@pacs/sync-server/db/migrate';
import { demoStudySet } from '@pacs/test-kit/demo-studies';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tablesIn } from '../src/database';
import { BackupError, installationFromEnv } from '../src/installation';
import { type Manifest, sha256Of } from '../src/manifest';
import { restore } from '../src/restore';
import { runCommand } from './support';

const work = mkdtempSync(path.join(os.tmpdir(), 'pacs-backup-refusals-'));
const backupDir = path.join(work, 'backup');
const imageFile = 'ab/cd/0f1e2d3c-image';
const databaseFile = testDialect() === 'sqlite' ? 'database.sqlite' : 'database.pgdump';
const otherDialect = testDialect() === 'sqlite' ? 'postgres' : 'sqlite';
let source: TestApp;
const databases: TestDatabase[] = [];

/** The manifest as a forger edits it: any field may hold anything. */
type Json = Manifest;
const readJson = (dir: string): Json => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const writeJson = (dir: string, manifest: Json) => writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
const flipByte = (file: string, at: number) => {
  const bytes = readFileSync(file);
  bytes[at] = (bytes[at]! + 1) % 256;
  writeFileSync(file, bytes);
};
/** A new file list, with the manifest's hash of it made to match, as a forger would. */
const forgeList = async (dir: string, text: string) => {
  writeFileSync(path.join(dir, 'orthanc-files.txt'), text);
  const manifest = readJson(dir);
  manifest.orthanc.fileList = { file: 'orthanc-files.txt', ...(await sha256Of(path.join(dir, 'orthanc-files.txt'))) };
  writeJson(dir, manifest);
};

beforeAll(async () => {
  source = await createTestApp();
  // An installation's database holds the sync-server's tables too (it makes them at its first start).
  await migrateSyncTables(source.app.db.sequelize);
  await seedStudy(source.app, { patientName: 'Refusal^Source' });
  const storage = path.join(work, 'source-storage');
  mkdirSync(path.join(storage, path.dirname(imageFile)), { recursive: true });
  writeFileSync(path.join(storage, imageFile), demoStudySet(1, { seed: 5 })[0]!.files[0]!);
  writeFileSync(path.join(storage, 'index'), 'stands for Orthanc SQLite index, never copied');
  const taken = await runCommand(['backup', backupDir], installation(source.database.url, storage));
  expect(taken.status, taken.stderr).toBe(0);
  expect(readdirSync(path.join(backupDir, 'orthanc'))).toEqual(['ab']);
}, 120_000);

afterAll(async () => {
  await source?.close();
  for (const database of databases) await database.drop();
  rmSync(work, { recursive: true, force: true });
});

function installation(databaseUrl: string, storageDir: string, dataDir = path.join(work, 'data')): Record<string, string> {
  return { DATABASE_URL: databaseUrl, PACS_ORTHANC_STORAGE_DIR: storageDir, PACS_DATA_DIR: dataDir };
}

let n = 0;
/** A fresh, empty target and a copy of the backup altered by `alter`. */
async function attempt(alter: (dir: string) => void | Promise<void>) {
  n += 1;
  const dir = path.join(work, `copy-${n}`);
  cpSync(backupDir, dir, { recursive: true });
  await alter(dir);
  const target = await createTestDatabase();
  databases.push(target);
  const storage = path.join(work, `target-storage-${n}`);
  mkdirSync(storage);
  const result = await restoreInto(dir, installation(target.url, storage));
  return { result, target, storage };
}

/** The restore's outcome: its summary lines, or the refusal. */
async function restoreInto(dir: string, env: Record<string, string>, replace = false) {
  const lines: string[] = [];
  try {
    await restore(installationFromEnv(env), dir, replace, (line) => lines.push(line));
    return { refusal: null, stdout: lines.join('\n') };
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    return { refusal: error.message, stdout: lines.join('\n') };
  }
}

describe('a backup folder that is damaged, forged or from a newer release', () => {
  it.each<[string, (dir: string) => void | Promise<void>, RegExp]>([
    ['no manifest (an interrupted backup)', (dir) => rmSync(path.join(dir, 'manifest.json')), /holds no manifest\.json/],
    ['a manifest that is not JSON', (dir) => writeFileSync(path.join(dir, 'manifest.json'), '{"format":'), /not valid JSON/],
    [
      'another format',
      (dir) => writeJson(dir, { ...readJson(dir), format: 'pacs-backup/99' as Manifest['format'] }),
      /format "pacs-backup\/99"/,
    ],
    [
      "the API's schema of a newer release",
      (dir) => {
        const manifest = readJson(dir);
        manifest.ledgers.pacs_migrations.push('9999-from-a-later-release');
        writeJson(dir, manifest);
      },
      /newer release \(pacs_migrations: 9999-from-a-later-release unknown to this one\)/,
    ],
    [
      "the sync-server's schema of a newer release",
      (dir) => {
        const manifest = readJson(dir);
        manifest.ledgers.sync_migrations.push('0099-sync-later');
        writeJson(dir, manifest);
      },
      /newer release \(sync_migrations: 0099-sync-later unknown to this one\)/,
    ],
    [
      'a database entry naming a file outside the folder',
      (dir) => writeJson(dir, { ...readJson(dir), database: { ...readJson(dir).database, file: '../../etc/passwd' } }),
      /file entry is malformed/,
    ],
    [
      'a database entry with a NUL in its name',
      (dir) => writeJson(dir, { ...readJson(dir), database: { ...readJson(dir).database, file: 'database.sqlite\u0000.x' } }),
      /file entry is malformed/,
    ],
    [
      'a database of another kind than DATABASE_URL names',
      (dir) => writeJson(dir, { ...readJson(dir), database: { ...readJson(dir).database, dialect: otherDialect } }),
      new RegExp(`holds a ${otherDialect} database; DATABASE_URL names a ${testDialect()} one`),
    ],
    [
      'a database file altered by one byte',
      (dir) => flipByte(path.join(dir, databaseFile), 500),
      /database\.\w+ does not match the manifest/,
    ],
    ['a database file missing', (dir) => rmSync(path.join(dir, databaseFile)), /database\.\w+ is missing/],
    ['an image altered by one byte', (dir) => flipByte(path.join(dir, 'orthanc', imageFile), 200), /does not match the list/],
    ['an image missing', (dir) => rmSync(path.join(dir, 'orthanc', imageFile)), /is missing from the backup/],
    [
      'a file list changed without its hash',
      (dir) => writeFileSync(path.join(dir, 'orthanc-files.txt'), ''),
      /orthanc-files\.txt does not match the manifest/,
    ],
    ...(
      [
        ['a forged file list naming a file outside the storage folder', `${'0'.repeat(64)}  10  ../../../etc/cron.d/x\n`],
        ['a forged file list with an absolute path', `${'0'.repeat(64)}  10  /etc/passwd\n`],
        ['a forged file list with a NUL in a path', `${'0'.repeat(64)}  10  ab/x\u0000y\n`],
        ['a forged file list with a percent-encoded traversal', `${'0'.repeat(64)}  10  %2e%2e/x\n`],
      ] as const
    ).map(
      ([name, text]) =>
        [name, (dir: string) => forgeList(dir, text), /within the storage folder/] as [string, (dir: string) => Promise<void>, RegExp],
    ),
  ])('%s: refused, nothing restored', async (_name, alter, reason) => {
    const { result, target, storage } = await attempt(alter);
    expect(result.refusal).toMatch(reason);
    expect(await tablesIn(target.url)).toBe(0);
    expect(readdirSync(storage)).toEqual([]);
  });

  it('the same backup unaltered restores (the refusals above are for their reasons alone)', async () => {
    const { result, target, storage } = await attempt(() => {});
    expect(result.refusal).toBeNull();
    expect(result.stdout).toMatch(/index rebuilt from 1 DICOM files/);
    expect(await tablesIn(target.url)).toBeGreaterThan(10);
    expect(readdirSync(storage).length).toBeGreaterThan(0);
  });
});

describe('a restore aimed at an installation that is in use or not empty', () => {
  it('refuses while the system runs on that data directory', async () => {
    const dataDir = path.join(work, 'running');
    mkdirSync(dataDir);
    writeFileSync(path.join(dataDir, 'pacs.pid'), `${process.pid}\n`);
    const target = await createTestDatabase();
    databases.push(target);
    const storage = path.join(work, 'running-storage');
    const result = await restoreInto(backupDir, installation(target.url, storage, dataDir));
    expect(result.refusal).toMatch(new RegExp(`the system is running on .* \\(pid ${process.pid}\\): stop it first`));
    expect(await tablesIn(target.url)).toBe(0);
  });

  it('refuses a database that holds data unless told to replace it; the data stays', async () => {
    const storage = path.join(work, 'occupied-storage');
    mkdirSync(storage);
    const before = await source.app.db.models.Study.count();
    const result = await restoreInto(backupDir, installation(source.database.url, storage));
    expect(result.refusal).toMatch(/already holds tables: restore into an empty one, or pass --replace/);
    expect(await source.app.db.models.Study.count()).toBe(before);
  });

  it('refuses an Orthanc storage folder that holds files unless told to replace it; the files stay', async () => {
    const target = await createTestDatabase();
    databases.push(target);
    const storage = path.join(work, 'full-storage');
    mkdirSync(storage);
    writeFileSync(path.join(storage, 'kept'), 'an image');
    const result = await restoreInto(backupDir, installation(target.url, storage));
    expect(result.refusal).toMatch(/storage folder .* is not empty: pass --replace/);
    expect(readdirSync(storage)).toEqual(['kept']);
    expect(await tablesIn(target.url)).toBe(0);
  });
});

describe('--replace', () => {
  it('puts the backup in place of what the installation holds, keeping what it replaced beside it', async () => {
    const target = await createTestDatabase();
    databases.push(target);
    const storage = path.join(work, 'replaced-storage');
    mkdirSync(storage);
    expect((await restoreInto(backupDir, installation(target.url, storage))).refusal).toBeNull();
    // Work after the restore that a second restore replaces.
    writeFileSync(path.join(storage, 'later-image'), 'received after the first restore');
    const replaced = await restoreInto(backupDir, installation(target.url, storage), true);
    expect(replaced.refusal).toBeNull();
    expect(readdirSync(storage)).not.toContain('later-image');
    const asides = readdirSync(work).filter((name) => name.startsWith('replaced-storage.replaced-'));
    expect(asides).toHaveLength(1);
    expect(readdirSync(path.join(work, asides[0]!))).toContain('later-image');
    expect(replaced.stdout).toMatch(/kept what was replaced at .*replaced-storage\.replaced-/);
  });
});

describe('commands typed wrong', () => {
  it.each([
    ['no command', [], /usage: backup DIR \| restore DIR \[--replace\]/],
    ['an unknown command', ['erase', '/tmp/x'], /usage:/],
    ['no folder', ['restore'], /usage:/],
    ['two folders', ['backup', '/tmp/a', '/tmp/b'], /usage:/],
    ['--replace on a backup', ['backup', '/tmp/a', '--replace'], /usage:/],
    ['an unknown option', ['restore', '/tmp/a', '--force'], /Unknown option '--force'/],
    ['a restore refused for its backup', ['restore', '/nonexistent-backup'], /holds no manifest\.json/],
  ])('%s: usage, exit 2', async (_name, args, message) => {
    const result = await runCommand(args, installation('sqlite:/nonexistent/never.sqlite', '/nonexistent'));
    expect(result.stderr).toMatch(message);
    expect(result.status).toBe(2);
  });

  it('refuses to back up into a folder that holds anything (a backup is never overwritten)', async () => {
    const result = await runCommand(['backup', backupDir], installation(source.database.url, path.join(work, 'source-storage')));
    expect(result.stderr).toMatch(/is not empty: back up into a new folder/);
    expect(result.status).toBe(2);
    expect(readJson(backupDir).format).toBe('pacs-backup/1');
  });
});
