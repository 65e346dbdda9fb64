/**
 * Migrations run at start-up, in order, each once (umzug keeps the ledger in `pacs_migrations`).
 * They are listed here rather than globbed so the type checker sees every one.
 */
import type { QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import * as initial from './migrations/0001-initial';
import * as worklistFeed from './migrations/0002-worklist-feed';
import * as reporting from './migrations/0003-reporting';

export interface MigrationContext {
  context: { queryInterface: QueryInterface; sequelize: Sequelize };
}

const MIGRATIONS: { name: string; up: (params: MigrationContext) => Promise<void> }[] = [
  { name: '0001-initial', up: initial.up },
  { name: '0002-worklist-feed', up: worklistFeed.up },
  { name: '0003-reporting', up: reporting.up },
];

export function migrator(sequelize: Sequelize) {
  return new Umzug({
    migrations: MIGRATIONS.map((m) => ({ name: m.name, up: (params: MigrationContext) => m.up(params) })),
    context: { queryInterface: sequelize.getQueryInterface(), sequelize },
    storage: new SequelizeStorage({ sequelize, tableName: 'pacs_migrations' }),
    logger: undefined,
  });
}

export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const done = await migrator(sequelize).up();
  return done.map((m) => m.name);
}

export const MIGRATION_NAMES = MIGRATIONS.map((m) => m.name);
