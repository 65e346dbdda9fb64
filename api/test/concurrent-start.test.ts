/**
 * Two API instances started at the same moment on one empty database (replicas behind the
 * gateway, a supervisor restarting both): both come up, the accounts an empty database gets are
 * created once, and neither start fails on the other's rows.
 */
import { afterEach, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { loadConfig } from '../src/config';
import { TEST_APP_ENV } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

it('two instances starting together on an empty database both start; the admin and demo accounts exist once', async () => {
  database = await createTestDatabase();
  const config = loadConfig({ ...TEST_APP_ENV, PACS_ENV: 'development', DATABASE_URL: database.url });
  const started = await Promise.allSettled([buildApp(config), buildApp(config)]);
  const apps = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  try {
    expect(started.map((result) => (result.status === 'rejected' ? String(result.reason) : 'started'))).toEqual(['started', 'started']);
    const users = await apps[0]!.db.models.User.findAll({ attributes: ['email', 'role'], raw: true });
    expect(users.map((u) => `${u.role} ${u.email}`).sort()).toEqual([
      'admin admin@pacs.local',
      'attending radiologist@pacs.local',
      'resident resident@pacs.local',
    ]);
  } finally {
    for (const app of apps) await app.close();
  }
});
