/**
 * The SQLite file the sync-server shares with the API holds patient data: the sync-server may
 * open it first (both start together), so it too creates it 0600 and tightens an existing 0644 one.
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../src/db/connect';

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
let dir: string;
let previousUmask: number;

beforeAll(() => {
  previousUmask = process.umask(0o022); // the usual umask, which alone would give 0644
  dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-sync-modes-'));
});
afterAll(() => {
  process.umask(previousUmask);
  rmSync(dir, { recursive: true, force: true });
});

describe('the SQLite file opened by the sync-server', () => {
  it('is created 0600, with its WAL and shared-memory files', async () => {
    const file = path.join(dir, 'fresh', 'pacs.sqlite');
    const sequelize = await connectDatabase(`sqlite:${file}`);
    try {
      await sequelize.query('CREATE TABLE probe (id INTEGER)');
      expect(mode(file)).toBe('600');
      expect(mode(`${file}-wal`)).toBe('600');
      expect(mode(`${file}-shm`)).toBe('600');
    } finally {
      await sequelize.close();
    }
  });

  it('is tightened to 0600 when an existing one is world-readable', async () => {
    const file = path.join(dir, 'existing.sqlite');
    const first = await connectDatabase(`sqlite:${file}`);
    await first.close();
    chmodSync(file, 0o644);
    const sequelize = await connectDatabase(`sqlite:${file}`);
    try {
      expect(mode(file)).toBe('600');
    } finally {
      await sequelize.close();
    }
  });
});
