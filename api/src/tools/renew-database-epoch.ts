/**
 * Run after restoring the database from a backup, before starting the system (db/after-restore.ts):
 * a new database epoch, so every device starts its worklist feed again from a snapshot, and every
 * device's offline read record may continue past the entries the restore lost.
 */
import { ConfigError, loadConfig } from '../config';
import { afterRestore } from '../db/after-restore';
import { connectDatabase } from '../db/connect';
import { migrate } from '../db/migrate';
import { defineModels } from '../db/models';

async function main() {
  const config = loadConfig();
  const sequelize = await connectDatabase(config.databaseUrl);
  try {
    await migrate(sequelize);
    const { epoch, offlineChains } = await afterRestore(defineModels(sequelize));
    console.log(`database epoch renewed: ${epoch}; offline read records that may continue after the restore: ${offlineChains}`);
  } finally {
    await sequelize.close();
  }
}

main().catch((error) => {
  console.error(`renew-database-epoch: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : error}`);
  process.exit(1);
});
