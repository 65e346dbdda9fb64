/**
 * The one migration runner of the API and the sync-server. Each service lists its migrations (not
 * globbed, so the type checker sees every one) and names its own ledger table, so the two never
 * collide on one database. Migrations import their context type from here, not from the service's
 * runner, so no migration imports the module that imports it.
 */
import type { QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';

export interface MigrationContext {
  context: { queryInterface: QueryInterface; sequelize: Sequelize };
}

export interface Migration {
  name: string;
  up(params: MigrationContext): Promise<void>;
}

export interface MigrationPlan {
  migrations: readonly Migration[];
  /** The ledger of applied migrations: one table per service. */
  ledgerTable: string;
}

export function migrator(sequelize: Sequelize, plan: MigrationPlan): Umzug<MigrationContext['context']> {
  return new Umzug({
    migrations: plan.migrations.map((m) => ({ name: m.name, up: (params: MigrationContext) => m.up(params) })),
    context: { queryInterface: sequelize.getQueryInterface(), sequelize },
    // A model per ledger: umzug's default model name is shared, so a second plan on the same
    // Sequelize instance would write into the first plan's ledger.
    storage: new SequelizeStorage({ sequelize, tableName: plan.ledgerTable, modelName: plan.ledgerTable }),
    logger: undefined,
  });
}

const RETRY_BASE_MS = 150;

/**
 * Applies what is pending and answers the names applied, in order. Several instances of a service starting
 * together on a fresh database race on the same migration: the loser fails on an object the winner
 * just created. It tries again a few times, by which point the winner has recorded the migration in
 * the ledger and nothing is pending; an error that persists is thrown after the last attempt.
 */
export async function runMigrations(sequelize: Sequelize, plan: MigrationPlan, attempts = 6): Promise<string[]> {
  const applied: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      const umzug = migrator(sequelize, plan);
      umzug.on('migrated', ({ name }) => {
        applied.push(name);
      });
      await umzug.up();
      return applied;
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * attempt + Math.random() * 250));
    }
  }
}
