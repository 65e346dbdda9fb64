/**
 * The migration runner both services start with: each migration once, in order, with a ledger per
 * service, and retried when instances starting together race on a fresh database; a database a
 * newer release migrated is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataTypes, QueryTypes, type Sequelize } from 'sequelize';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '../src/database/connect';
import { type Migration, type MigrationPlan, NewerSchemaError, runMigrations } from '../src/database/migrations';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-kit-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open: Sequelize[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

let files = 0;
async function freshDatabase(file = path.join(dir, `db-${++files}.sqlite`)): Promise<Sequelize> {
  const sequelize = await connectDatabase(`sqlite:${file}`, { poolMax: 5, trustServerCertificate: false });
  open.push(sequelize);
  return sequelize;
}

const createTable = (name: string): Migration => ({
  name: `create-${name}`,
  up: ({ context: { queryInterface } }) =>
    queryInterface.createTable(name, { id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true } }),
});

const ledger = (sequelize: Sequelize, table: string) =>
  sequelize.query<{ name: string }>(`SELECT name FROM ${table} ORDER BY name`, { type: QueryTypes.SELECT });

describe('runMigrations', () => {
  it('applies each pending migration once, in order, and records it in the service’s own ledger', async () => {
    const sequelize = await freshDatabase();
    const api: MigrationPlan = { migrations: [createTable('a'), createTable('b')], ledgerTable: 'api_ledger' };
    const sync: MigrationPlan = { migrations: [createTable('c')], ledgerTable: 'sync_ledger' };
    expect(await runMigrations(sequelize, api)).toEqual(['create-a', 'create-b']);
    expect(await runMigrations(sequelize, sync)).toEqual(['create-c']);
    expect(await runMigrations(sequelize, api)).toEqual([]);
    expect(await ledger(sequelize, 'api_ledger')).toEqual([{ name: 'create-a' }, { name: 'create-b' }]);
    expect(await ledger(sequelize, 'sync_ledger')).toEqual([{ name: 'create-c' }]);
  });

  it('tries a failed migration again and reports everything applied across the attempts', async () => {
    const sequelize = await freshDatabase();
    let calls = 0;
    const flaky: Migration = {
      name: 'flaky',
      up: async () => {
        calls++;
        if (calls === 1) throw new Error('table "x" already exists');
      },
    };
    expect(await runMigrations(sequelize, { migrations: [createTable('a'), flaky], ledgerTable: 'ledger' })).toEqual(['create-a', 'flaky']);
    expect(calls).toBe(2);
  });

  it('throws the error of a migration that fails on every attempt, and records nothing for it', async () => {
    const sequelize = await freshDatabase();
    const broken: Migration = {
      name: 'broken',
      up: async () => {
        throw new Error('broken DDL');
      },
    };
    await expect(runMigrations(sequelize, { migrations: [broken], ledgerTable: 'ledger' }, 2)).rejects.toThrow(/broken DDL/);
    expect(await ledger(sequelize, 'ledger')).toEqual([]);
  });

  it('lets two instances started together on one fresh database both come up, each migration applied once', async () => {
    const file = path.join(dir, 'shared.sqlite');
    const [first, second] = [await freshDatabase(file), await freshDatabase(file)];
    const plan: MigrationPlan = { migrations: [createTable('a'), createTable('b'), createTable('c')], ledgerTable: 'ledger' };
    const [one, two] = await Promise.all([runMigrations(first, plan), runMigrations(second, plan)]);
    expect([...one, ...two].sort()).toEqual(['create-a', 'create-b', 'create-c']);
    expect(await ledger(first, 'ledger')).toEqual([{ name: 'create-a' }, { name: 'create-b' }, { name: 'create-c' }]);
  });

  it('refuses at once a database a newer release migrated (rolled back, or its backup restored), and changes nothing', async () => {
    const sequelize = await freshDatabase();
    const newer: MigrationPlan = { migrations: [createTable('a'), createTable('b'), createTable('c')], ledgerTable: 'ledger' };
    await runMigrations(sequelize, newer);
    const older: MigrationPlan = { migrations: [createTable('a'), createTable('d')], ledgerTable: 'ledger' };
    const refusal = await runMigrations(sequelize, older).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(NewerSchemaError);
    expect((refusal as NewerSchemaError).unknown).toEqual(['create-b', 'create-c']);
    expect((refusal as Error).message).toMatch(/newer release \(ledger: create-b, create-c unknown to this one\)/);
    // The older release's own pending migration did not run.
    expect(await ledger(sequelize, 'ledger')).toEqual([{ name: 'create-a' }, { name: 'create-b' }, { name: 'create-c' }]);
    const tables = await sequelize.getQueryInterface().showAllTables();
    expect(tables).not.toContain('d');
  });
});
