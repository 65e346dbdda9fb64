/** Builds the real API on a fresh database, with helpers to create users and sign in as them. */
import type { Role } from '@pacs/shared';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app';
import { hashPassword } from '../../src/auth/passwords';
import { type Config, DEV_PASSWORDS, loadConfig } from '../../src/config';
import { createTestDatabase, type TestDatabase } from './database';

export const ADMIN_EMAIL = 'admin@pacs.local';
export const ADMIN_PASSWORD = DEV_PASSWORDS.admin;
export const TEST_PASSWORD = 'correct-horse-battery';

/** What every test app runs with (another app on the same database takes these too, so tokens hold). */
export const TEST_APP_ENV = {
  PACS_ENV: 'test',
  PACS_LOG_LEVEL: 'silent',
  PACS_JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
  PACS_DATA_DIR: '/tmp/pacs-test-data-unused',
  // Tests that are not about the second factor sign admins in with a password alone.
  PACS_MFA_REQUIRED_ROLES: 'none',
};

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  database: TestDatabase;
  /** Creates an active user of `role` and returns it with a valid access token. */
  userWithToken(role: Role, overrides?: { email?: string; providerId?: string }): Promise<{ id: string; email: string; token: string }>;
  login(email: string, password: string): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

let counter = 0;

export async function createTestApp(env: Record<string, string> = {}, options: Parameters<typeof buildApp>[1] = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({ ...TEST_APP_ENV, DATABASE_URL: database.url, ...env });
  const app = await buildApp(config, options);
  // One hash for all helper users: bcrypt at cost 12 takes ~0.25 s per hash.
  const sharedHash = await hashPassword(TEST_PASSWORD, config.bcryptCost);
  return {
    app,
    config,
    database,
    async userWithToken(role, overrides = {}) {
      counter += 1;
      const email = overrides.email ?? `${role}-${counter}-${Date.now()}@test.local`;
      const user = await app.db.models.User.create({
        email,
        name: `Test ${role} ${counter}`,
        role,
        passwordHash: sharedHash,
        providerId: overrides.providerId ?? '',
      });
      return { id: user.get('id'), email, token: app.signAccessToken(user.get()) };
    },
    login: (email, password) => app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } }),
    async close() {
      await app.close();
      await database.drop();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The refresh cookie's value from a response's Set-Cookie header. */
export function refreshCookieOf(response: LightMyRequestResponse): string | undefined {
  return response.cookies.find((c) => c.name === 'pacs_refresh')?.value;
}
