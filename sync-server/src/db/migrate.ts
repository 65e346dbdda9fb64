/**
 * The sync-server's own migrations (DUR-2): tables prefixed `sync_`, ledger `sync_migrations`, so
 * they never collide with the API's (`pacs_migrations`). Listed, not globbed, so tsc sees each one.
 */
import type { QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import * as initial from './migrations/0001-sync-initial';

export interface MigrationContext {
  context: { queryInterface: QueryInterface; sequelize: Sequelize };
}

const MIGRATIONS: { name: string; up: (params: MigrationContext) => Promise<void> }[] = [{ name: '0001-sync-initial', up: initial.up }];

export const MIGRATION_TABLE = 'sync_migrations';

export function migrator(sequelize: Sequelize) {
  return new Umzug({
    migrations: MIGRATIONS.map((m) => ({ name: m.name, up: (params: MigrationContext) => m.up(params) })),
    context: { queryInterface: sequelize.getQueryInterface(), sequelize },
    storage: new SequelizeStorage({ sequelize, tableName: MIGRATION_TABLE }),
    logger: undefined,
  });
}

/**
 * Several instances starting together on a fresh database (scale-out, SCALE-*) race on the same
 * migration: the loser fails on an object the winner just created. It retries a few times, by
 * which point the winner has recorded the migration in the ledger and nothing is pending.
 */
export async function migrate(sequelize: Sequelize, attempts = 6): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const done = await migrator(sequelize).up();
      return done.map((m) => m.name);
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 150 * attempt + Math.random() * 250));
    }
  }
}

export const MIGRATION_NAMES = MIGRATIONS.map((m) => m.name);
