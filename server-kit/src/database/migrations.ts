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

/**
 * The plan's ledger. A model per ledger: umzug's default model name is shared, so a second plan on
 * the same Sequelize instance would write into the first plan's ledger.
 */
function ledgerOf(sequelize: Sequelize, plan: MigrationPlan): SequelizeStorage {
  return new SequelizeStorage({ sequelize, tableName: plan.ledgerTable, modelName: plan.ledgerTable });
}

export function migrator(
  sequelize: Sequelize,
  plan: MigrationPlan,
  ledger = ledgerOf(sequelize, plan),
): Umzug<MigrationContext['context']> {
  return new Umzug({
    migrations: plan.migrations.map((m) => ({ name: m.name, up: (params: MigrationContext) => m.up(params) })),
    context: { queryInterface: sequelize.getQueryInterface(), sequelize },
    storage: ledger,
    logger: undefined,
  });
}

const RETRY_BASE_MS = 150;

/**
 * The database was migrated by a release this one does not know (a newer one, then rolled back; or
 * a backup of a newer release restored): its schema may hold what this code would break, so the
 * service refuses to start instead of running on it.
 */
export class NewerSchemaError extends Error {
  constructor(
    readonly ledgerTable: string,
    readonly unknown: string[],
  ) {
    super(
      `the database was migrated by a newer release (${ledgerTable}: ${unknown.join(', ')} unknown to this one): start that release again, or restore a backup made by this one`,
    );
    this.name = 'NewerSchemaError';
  }
}

/** Names in the ledger that the plan does not list (umzug's own `executed` leaves them out). */
async function unknownApplied(ledger: SequelizeStorage, plan: MigrationPlan): Promise<string[]> {
  const known = new Set(plan.migrations.map((m) => m.name));
  const applied = await ledger.executed();
  return applied.filter((name) => !known.has(name));
}

/**
 * Applies what is pending and answers the names applied, in order. Several instances of a service starting
 * together on a fresh database race on the same migration: the loser fails on an object the winner
 * just created. It tries again a few times, by which point the winner has recorded the migration in
 * the ledger and nothing is pending; an error that persists is thrown after the last attempt. A
 * ledger naming a migration this release does not know is refused at once (NewerSchemaError).
 */
export async function runMigrations(sequelize: Sequelize, plan: MigrationPlan, attempts = 6): Promise<string[]> {
  const applied: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      const ledger = ledgerOf(sequelize, plan);
      const unknown = await unknownApplied(ledger, plan);
      if (unknown.length > 0) throw new NewerSchemaError(plan.ledgerTable, unknown);
      const umzug = migrator(sequelize, plan, ledger);
      umzug.on('migrated', ({ name }) => {
        applied.push(name);
      });
      await umzug.up();
      return applied;
    } catch (error) {
      if (error instanceof NewerSchemaError || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * attempt + Math.random() * 250));
    }
  }
}
