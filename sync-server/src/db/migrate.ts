/**
 * The sync-server's own migrations (DUR-2): tables prefixed `sync_`, ledger `sync_migrations`, so
 * they never collide with the API's (`pacs_migrations`). The runner, shared with the API, retries
 * when several instances start together on a fresh database (SCALE-*).
 */
import { type Migration, type MigrationPlan, migrator as planMigrator, runMigrations } from '@pacs/server-kit/database';
import type { Sequelize } from 'sequelize';
import * as initial from './migrations/0001-sync-initial';
import * as authorship from './migrations/0002-sync-authorship';

const MIGRATIONS: Migration[] = [
  { name: '0001-sync-initial', up: initial.up },
  { name: '0002-sync-authorship', up: authorship.up },
];

export const MIGRATION_TABLE = 'sync_migrations';

const PLAN: MigrationPlan = { migrations: MIGRATIONS, ledgerTable: MIGRATION_TABLE };

export const migrator = (sequelize: Sequelize) => planMigrator(sequelize, PLAN);

export const migrate = (sequelize: Sequelize, attempts?: number): Promise<string[]> => runMigrations(sequelize, PLAN, attempts);

export const MIGRATION_NAMES = MIGRATIONS.map((m) => m.name);
