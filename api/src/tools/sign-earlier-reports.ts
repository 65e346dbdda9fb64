/** Signs the reports signed before this installation signed reports (see reports/signature/earlier-reports.ts). */
import { ConfigError, loadConfig } from '../config';
import { connectDatabase } from '../db/connect';
import { migrate } from '../db/migrate';
import { defineModels } from '../db/models';
import { signEarlierReports } from '../reports/signature/earlier-reports';
import { loadSigningKeyring } from '../reports/signature/signing-keys';

async function main() {
  const config = loadConfig();
  const keyring = loadSigningKeyring(config.signing);
  const sequelize = await connectDatabase(config.databaseUrl);
  try {
    await migrate(sequelize);
    const outcome = await signEarlierReports(defineModels(sequelize), keyring);
    console.log(`signed ${outcome.signed} report(s) with key ${keyring.current.keyId}`);
    if (outcome.mismatched.length > 0) {
      console.error(`${outcome.mismatched.length} report(s) left unsigned: their content no longer matches their hash:`);
      for (const id of outcome.mismatched) console.error(`  ${id}`);
      process.exitCode = 2;
    }
  } finally {
    await sequelize.close();
  }
}

main().catch((error) => {
  console.error(`sign-earlier-reports: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : error}`);
  process.exit(1);
});
