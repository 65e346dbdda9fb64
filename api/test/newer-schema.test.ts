/**
 * An API of an older release started on a database a newer one migrated (after a rollback, or on a
 * restored backup of the newer release) refuses to start and says why, instead of running on a
 * schema it does not know. Runs on SQLite and on PostgreSQL (PACS_TEST_DIALECT=postgres).
 */
import { NewerSchemaError } from '@pacs/server-kit/database';
import { QueryTypes } from 'sequelize';
import { expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { createTestApp } from './support/app';

it('refuses to start on a database migrated by a newer release, naming what it does not know', async () => {
  const t = await createTestApp();
  try {
    const { sequelize } = t.app.db;
    // What a later release would have left in the ledger.
    await sequelize.query(`INSERT INTO pacs_migrations (name) VALUES ('9999-from-a-later-release')`);
    const before = await sequelize.query<{ name: string }>('SELECT name FROM pacs_migrations ORDER BY name', { type: QueryTypes.SELECT });
    const refusal = await buildApp(t.config).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(NewerSchemaError);
    expect((refusal as Error).message).toContain('newer release (pacs_migrations: 9999-from-a-later-release unknown to this one)');
    // Nothing was migrated or changed by the refused start.
    expect(await sequelize.query('SELECT name FROM pacs_migrations ORDER BY name', { type: QueryTypes.SELECT })).toEqual(before);
  } finally {
    await t.close();
  }
});
