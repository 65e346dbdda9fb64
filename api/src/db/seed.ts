/**
 * First start on an empty database: the admin account, and in development a demo attending.
 * Never overwrites existing users, so a changed password survives restarts.
 */

import { hashPassword } from '../auth/passwords';
import type { Config } from '../config';
import { DEV_PASSWORDS } from '../config';
import type { Models } from './models';

export const DEMO_ATTENDING_EMAIL = 'radiologist@pacs.local';
/** A resident too, so a newcomer can try drafting and signing a report together in two browsers. */
export const DEMO_RESIDENT_EMAIL = 'resident@pacs.local';

export async function seedUsers(models: Models, config: Config): Promise<string[]> {
  if ((await models.User.count()) > 0) return [];
  const created: string[] = [];
  await models.User.create({
    email: config.adminEmail,
    name: 'Administrator',
    role: 'admin',
    passwordHash: await hashPassword(config.adminPassword, config.bcryptCost),
  });
  created.push(config.adminEmail);
  if (config.seedDemoUsers) {
    await models.User.create({
      email: DEMO_ATTENDING_EMAIL,
      name: 'Demo Radiologist',
      role: 'attending',
      passwordHash: await hashPassword(DEV_PASSWORDS.radiologist, config.bcryptCost),
    });
    created.push(DEMO_ATTENDING_EMAIL);
    await models.User.create({
      email: DEMO_RESIDENT_EMAIL,
      name: 'Demo Resident',
      role: 'resident',
      passwordHash: await hashPassword(DEV_PASSWORDS.resident, config.bcryptCost),
    });
    created.push(DEMO_RESIDENT_EMAIL);
  }
  return created;
}
