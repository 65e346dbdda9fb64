import fp from 'fastify-plugin';
import { AuditRecorder } from '../audit/recorder';
import { RefreshTokens } from '../auth/refresh-tokens';
import { connectDatabase } from '../db/connect';
import { migrate } from '../db/migrate';
import { defineModels } from '../db/models';
import { seedUsers } from '../db/seed';

/** Connects, migrates (idempotent), seeds an empty database, and closes with the app. */
export default fp(
  async (app) => {
    const sequelize = await connectDatabase(app.config.databaseUrl);
    const applied = await migrate(sequelize);
    if (applied.length > 0) app.log.info({ migrations: applied }, 'database migrated');
    const models = defineModels(sequelize);
    const seeded = await seedUsers(models, app.config);
    if (seeded.length > 0) app.log.info({ users: seeded.length }, 'seeded initial users');
    app.decorate('db', { sequelize, models });
    app.decorate('audit', new AuditRecorder(models));
    app.decorate('refreshTokens', new RefreshTokens(models, app.config.refreshTokenTtl));
    app.addHook('onClose', async () => {
      await sequelize.close();
    });
  },
  { name: 'database' },
);
