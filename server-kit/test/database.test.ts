/**
 * Both servers open the shared SQLite file through this connector, so both get the same settings:
 * WAL with synchronous=NORMAL and the busy timeout, whichever of them opens the file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataTypes, QueryTypes } from 'sequelize';
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

/**
 * Sequelize's SQLite dialect is patched (server-kit/patches): column types are asked of SQLite
 * once per connection and table, until a CREATE/ALTER/DROP on it, and an error stack is formatted
 * only for an error.
 */
describe('the patched SQLite dialect', () => {
  it('asks PRAGMA table_info once, sees a column added later, and still gives errors their caller', async () => {
    const sequelize = await connectDatabase(`sqlite:${path.join(dir, 'patched.sqlite')}`, { poolMax: 1, trustServerCertificate: false });
    try {
      const queryInterface = sequelize.getQueryInterface();
      await queryInterface.createTable('notes', { id: { type: DataTypes.INTEGER, primaryKey: true }, body: DataTypes.STRING });
      const Note = sequelize.define(
        'Note',
        { id: { type: DataTypes.INTEGER, primaryKey: true }, body: DataTypes.STRING },
        {
          tableName: 'notes',
          timestamps: false,
        },
      );
      await Note.create({ id: 1, body: 'first' });
      const connection = (await sequelize.connectionManager.getConnection({ type: 'read' })) as unknown as {
        on(event: 'trace', listener: (sql: string) => void): void;
      };
      const statements: string[] = [];
      connection.on('trace', (sql) => statements.push(sql));
      for (let i = 0; i < 3; i++) expect((await Note.findByPk(1))?.get('body')).toBe('first');
      expect(statements.filter((sql) => /PRAGMA table_info/i.test(sql)).length).toBeLessThanOrEqual(1);

      await queryInterface.addColumn('notes', 'urgent', { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false });
      const Flagged = sequelize.define(
        'Flagged',
        { id: { type: DataTypes.INTEGER, primaryKey: true }, urgent: DataTypes.BOOLEAN },
        { tableName: 'notes', timestamps: false },
      );
      await Flagged.update({ urgent: true }, { where: { id: 1 } });
      // Parsed by the column's type (a stale cache would give SQLite's 1).
      expect((await Flagged.findByPk(1))?.get('urgent')).toBe(true);

      const failing = () => sequelize.query('SELECT id FROM no_such_table');
      await expect(failing()).rejects.toThrow(/no such table/);
      const error = (await failing().catch((e: Error) => e)) as Error;
      expect(String(error.stack)).toMatch(/database\.test\.ts/);
    } finally {
      await sequelize.close();
    }
  });
});
