/**
 * The accounts the API brings along, at every start:
 * - on an empty database: the admin, and in development two demo accounts with the README's
 *   passwords. Their ids are recorded (app_state), so they stay recognisable whatever they are
 *   renamed to. Existing users are never overwritten, so a changed password survives restarts.
 * - PACS_ADMIN_PASSWORD replaces the admin's password while that is still a development one.
 * - In production, a start is refused while any account still has a development password or is
 *   an active demo account (a database first created by `npm start`, then deployed).
 */

import { UniqueConstraintError } from 'sequelize';
import { AuditRecorder } from '../audit/recorder';
import { hashPassword, verifyPassword } from '../auth/passwords';
import type { Config } from '../config';
import { DEV_PASSWORDS } from '../config';
import type { Models, UserAttributes } from './models';

export const DEMO_ATTENDING_EMAIL = 'radiologist@pacs.local';
/** A resident too, so a newcomer can try drafting and signing a report together in two browsers. */
export const DEMO_RESIDENT_EMAIL = 'resident@pacs.local';
/** The development admin's e-mail (PACS_ADMIN_EMAIL's default). */
const DEV_ADMIN_EMAIL = 'admin@pacs.local';
/** app_state key: ids of the accounts the development seed created, by kind. */
const SEEDED_KEY = 'development-seeded-users';

interface SeededIds {
  admin: string[];
  demo: string[];
}

export class DevelopmentAccountsError extends Error {
  override name = 'DevelopmentAccountsError';
}

export async function seedUsers(models: Models, config: Config): Promise<string[]> {
  const created = (await models.User.count()) === 0 ? await seedEmptyDatabaseOnce(models, config) : [];
  if (config.adminPasswordFromEnvironment) await applyAdminPassword(models, config);
  if (config.production) await refuseDevelopmentAccounts(models, config);
  return created;
}

/**
 * Replicas started together all find the database empty; the admin's unique e-mail lets one of
 * them create the accounts, and the others find them made.
 */
async function seedEmptyDatabaseOnce(models: Models, config: Config): Promise<string[]> {
  try {
    return await seedEmptyDatabase(models, config);
  } catch (error) {
    if (error instanceof UniqueConstraintError && (await models.User.count({ where: { email: config.adminEmail } })) === 1) return [];
    throw error;
  }
}

async function seedEmptyDatabase(models: Models, config: Config): Promise<string[]> {
  const admin = await models.User.create({
    email: config.adminEmail,
    name: 'Administrator',
    role: 'admin',
    passwordHash: await hashPassword(config.adminPassword, config.bcryptCost),
  });
  if (!config.seedDemoUsers) return [config.adminEmail];
  const demo = [
    { email: DEMO_ATTENDING_EMAIL, name: 'Demo Radiologist', role: 'attending' as const, password: DEV_PASSWORDS.radiologist },
    { email: DEMO_RESIDENT_EMAIL, name: 'Demo Resident', role: 'resident' as const, password: DEV_PASSWORDS.resident },
  ];
  const demoIds: string[] = [];
  for (const { password, ...user } of demo) {
    const row = await models.User.create({ ...user, passwordHash: await hashPassword(password, config.bcryptCost) });
    demoIds.push(row.get('id'));
  }
  const seeded: SeededIds = { admin: [admin.get('id')], demo: demoIds };
  await models.AppState.upsert({ key: SEEDED_KEY, value: JSON.stringify(seeded), updatedAt: new Date() });
  return [config.adminEmail, ...demo.map((d) => d.email)];
}

async function isDevelopmentPassword(hash: string): Promise<boolean> {
  const matches = await Promise.all(Object.values(DEV_PASSWORDS).map((password) => verifyPassword(password, hash)));
  return matches.some(Boolean);
}

/** Never replaces a password someone chose: only a development one. */
async function applyAdminPassword(models: Models, config: Config): Promise<void> {
  const admin = await models.User.findOne({ where: { email: config.adminEmail } });
  if (!admin || !(await isDevelopmentPassword(admin.get('passwordHash')))) return;
  if (await verifyPassword(config.adminPassword, admin.get('passwordHash'))) return;
  await admin.update({
    passwordHash: await hashPassword(config.adminPassword, config.bcryptCost),
    passwordChangedAt: new Date(Math.floor(Date.now() / 1000) * 1000),
  });
  await models.RefreshToken.update(
    { revokedAt: new Date(), revokedReason: 'password-reset' },
    { where: { userId: admin.get('id'), revokedAt: null } },
  );
  await new AuditRecorder(models).record({
    eventId: 'SecurityAlert',
    action: 'U',
    outcome: 0,
    objectType: 'User',
    objectId: admin.get('id'),
    details: { event: 'password-reset', source: 'PACS_ADMIN_PASSWORD replaced a development password' },
  });
}

async function seededIds(models: Models): Promise<SeededIds> {
  const row = await models.AppState.findByPk(SEEDED_KEY, { raw: true });
  try {
    const parsed = row ? (JSON.parse(row.value) as Partial<SeededIds>) : {};
    return { admin: parsed.admin ?? [], demo: parsed.demo ?? [] };
  } catch {
    return { admin: [], demo: [] };
  }
}

/**
 * Candidates: the accounts the development seed recorded, and (for databases seeded before the
 * record existed) the development e-mails. Only active accounts count: a deactivated one cannot
 * sign in. Other accounts got their password through the API, which refuses development ones.
 */
async function refuseDevelopmentAccounts(models: Models, config: Config): Promise<void> {
  const seeded = await seededIds(models);
  const users = (await models.User.findAll({ where: { active: true }, raw: true })) as UserAttributes[];
  const demoEmails = new Set([DEMO_ATTENDING_EMAIL, DEMO_RESIDENT_EMAIL]);
  const adminEmails = new Set([DEV_ADMIN_EMAIL, config.adminEmail]);
  const problems: string[] = [];
  for (const user of users) {
    if (seeded.demo.includes(user.id) || demoEmails.has(user.email)) {
      problems.push(`${user.email} (demo account)`);
    } else if (seeded.admin.includes(user.id) || adminEmails.has(user.email)) {
      if (await isDevelopmentPassword(user.passwordHash)) problems.push(`${user.email} (development password)`);
    }
  }
  if (problems.length === 0) return;
  throw new DevelopmentAccountsError(
    `refusing to start in production with development accounts: ${problems.join(', ')}. ` +
      'Deactivate or delete the demo accounts and change development passwords (for example from a development start), then start again.',
  );
}
