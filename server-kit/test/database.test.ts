/**
 * Both servers open the shared SQLite file through this connector, so both get the same settings:
 * WAL with synchronous=NORMAL and the busy timeout, whichever of them opens the file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDatabase, dialectOf } from '../src/database/connect';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-kit-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('connectDatabase', () => {
  it('opens SQLite in WAL mode with synchronous=NORMAL, also on the connections transactions open', async () => {
    const sequelize = await connectDatabase(`sqlite:${path.join(dir, 'pacs.sqlite')}`, { poolMax: 5, trustServerCertificate: false });
    try {
      expect(await sequelize.query('PRAGMA journal_mode', { type: QueryTypes.SELECT })).toEqual([{ journal_mode: 'wal' }]);
      // 1 = NORMAL (2 = FULL, SQLite's default).
      expect(await sequelize.query('PRAGMA synchronous', { type: QueryTypes.SELECT })).toEqual([{ synchronous: 1 }]);
      // Sequelize's SQLite dialect gives each transaction a connection of its own.
      const inTransaction = await sequelize.transaction((transaction) =>
        sequelize.query('PRAGMA synchronous', { type: QueryTypes.SELECT, transaction }),
      );
      expect(inTransaction).toEqual([{ synchronous: 1 }]);
    } finally {
      await sequelize.close();
    }
  });

  it('accepts only SQLite, PostgreSQL and SQL Server URLs', () => {
    expect(dialectOf('sqlite::memory:')).toBe('sqlite');
    expect(dialectOf('postgresql://db/pacs')).toBe('postgres');
    expect(dialectOf('mssql://db/pacs')).toBe('mssql');
    expect(() => dialectOf('mysql://db/pacs')).toThrow(/unsupported scheme/);
  });
});
