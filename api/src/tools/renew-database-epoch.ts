/**
 * Run after restoring the database from a backup: gives the database a new epoch, so every device
 * starts its worklist feed again from a snapshot instead of waiting at a cursor the restored
 * counter has not reached (see worklist/epoch.ts).
 */
import { ConfigError, loadConfig } from '../config';
import { connectDatabase } from '../db/connect';
import { migrate } from '../db/migrate';
import { defineModels } from '../db/models';
import { renewDatabaseEpoch } from '../worklist/epoch';

async function main() {
  const config = loadConfig();
  const sequelize = await connectDatabase(config.databaseUrl);
  try {
    await migrate(sequelize);
    console.log(`database epoch renewed: ${await renewDatabaseEpoch(defineModels(sequelize))}`);
  } finally {
    await sequelize.close();
  }
}

main().catch((error) => {
  console.error(`renew-database-epoch: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : error}`);
  process.exit(1);
});
