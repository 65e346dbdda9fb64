/** Opening DATABASE_URL and migrating it: the same for the API and the sync-server. */
export { connectDatabase, type DatabaseOptions, dialectOf, sqliteStorage } from './connect';
export { type Migration, type MigrationContext, type MigrationPlan, migrator, NewerSchemaError, runMigrations } from './migrations';
export { sqliteSelect } from './sqlite';
