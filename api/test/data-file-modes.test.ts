/**
 * Patient data on disk is for its owner only: the API's SQLite file (and its -wal/-shm files) is
 * 0600 whether new or left 0644 by an older version, and `npm start`'s data directory is 0700
 * with what lies directly in it tightened (scripts/data-dir.mjs). Checked under the usual umask
 * 022, which alone would give 0644 and 0755.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDataDir } from '../../scripts/data-dir.mjs';
import { createTestApp } from './support/app';

const mode = (file: string) => statSync(file).mode & 0o777;
let dir: string;
let previousUmask: number;

beforeAll(() => {
  previousUmask = process.umask(0o022);
  dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-modes-'));
});
afterAll(() => {
  process.umask(previousUmask);
  rmSync(dir, { recursive: true, force: true });
});

describe('the API’s SQLite database file', () => {
  it('is created 0600 (with its WAL and shared-memory files) on a fresh path', async () => {
    const file = path.join(dir, 'fresh', 'pacs.sqlite');
    const testApp = await createTestApp({ DATABASE_URL: `sqlite:${file}` });
    try {
      await testApp.userWithToken('admin'); // a write, so the WAL is in use
      expect(mode(file).toString(8)).toBe('600');
      expect(mode(`${file}-wal`).toString(8)).toBe('600');
      expect(mode(`${file}-shm`).toString(8)).toBe('600');
    } finally {
      await testApp.close();
    }
  });

  it('is tightened to 0600 when an existing one is world-readable', async () => {
    const first = path.join(dir, 'existing', 'pacs.sqlite');
    const before = await createTestApp({ DATABASE_URL: `sqlite:${first}` });
    await before.close();
    chmodSync(first, 0o644);
    const testApp = await createTestApp({ DATABASE_URL: `sqlite:${first}` });
    try {
      expect(mode(first).toString(8)).toBe('600');
    } finally {
      await testApp.close();
    }
  });
});

describe('npm start’s data directory', () => {
  it('is created 0700', () => {
    const dataDir = path.join(dir, 'new-install', 'data');
    prepareDataDir(dataDir);
    expect(mode(dataDir).toString(8)).toBe('700');
  });

  it('is tightened at start: the directory 0700, files in it 0600, directories in it 0700, storage kept elsewhere 0700', () => {
    const dataDir = path.join(dir, 'old-install');
    mkdirSync(path.join(dataDir, 'orthanc', '00'), { recursive: true, mode: 0o755 });
    mkdirSync(path.join(dataDir, 'logs'), { mode: 0o755 });
    for (const file of ['pacs.sqlite', 'pacs.sqlite-wal', 'dev-secrets.json', 'orthanc.json']) {
      writeFileSync(path.join(dataDir, file), '{}', { mode: 0o644 });
    }
    chmodSync(dataDir, 0o755);
    const storage = path.join(dir, 'big-disk', 'orthanc-storage');
    mkdirSync(storage, { recursive: true, mode: 0o755 });

    prepareDataDir(dataDir, [storage]);

    expect(mode(dataDir).toString(8)).toBe('700');
    for (const sub of ['orthanc', 'logs']) expect(mode(path.join(dataDir, sub)).toString(8)).toBe('700');
    for (const file of ['pacs.sqlite', 'pacs.sqlite-wal', 'dev-secrets.json', 'orthanc.json']) {
      expect(mode(path.join(dataDir, file)).toString(8)).toBe('600');
    }
    expect(mode(storage).toString(8)).toBe('700');
  });
});
