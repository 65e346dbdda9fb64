/**
 * A database first created in development (admin and demo accounts with the README's passwords)
 * must not be served in production: the start is refused, naming the accounts and no password,
 * until they are changed or removed. PACS_ADMIN_PASSWORD replaces the admin's development password.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { hashPassword } from '../src/auth/passwords';
import { DEV_PASSWORDS, loadConfig } from '../src/config';
import { createTestApp, type TestApp } from './support/app';
import { PRODUCTION_ADMIN_PASSWORD, productionEnv } from './support/production';

const DEMO_EMAILS = ['radiologist@pacs.local', 'resident@pacs.local'];

let dev: TestApp | undefined;
afterEach(async () => {
  await dev?.database.drop();
  dev = undefined;
});

/** `npm start` on an empty database: the development seed. */
async function developmentDatabase(env: Record<string, string> = {}) {
  dev = await createTestApp({ PACS_ENV: 'development', ...env });
  const emails = (await dev.app.db.models.User.findAll({ raw: true })).map((u) => u.email).sort();
  await dev.app.close();
  return { url: dev.database.url, emails };
}

const productionConfig = (url: string, env: Record<string, string> = {}) =>
  loadConfig({ ...productionEnv({ PACS_LOG_LEVEL: 'silent', PACS_DATA_DIR: '/tmp/pacs-test-data-unused', ...env }), DATABASE_URL: url });

async function startError(url: string, env: Record<string, string> = {}): Promise<Error | null> {
  try {
    const app = await buildApp(productionConfig(url, env));
    await app.close();
    return null;
  } catch (error) {
    return error as Error;
  }
}

/** Changes made in development (or by hand) before going to production. */
async function inDevelopment(url: string, work: (models: TestApp['app']['db']['models']) => Promise<unknown>) {
  const app = await buildApp(loadConfig({ PACS_ENV: 'development', PACS_LOG_LEVEL: 'silent', DATABASE_URL: url }));
  try {
    await work(app.db.models);
  } finally {
    await app.close();
  }
}

const NO_PASSWORD = new RegExp(Object.values(DEV_PASSWORDS).join('|'));

describe('production start on a database seeded in development', () => {
  it('refuses, naming the demo accounts and no password; the admin takes PACS_ADMIN_PASSWORD', async () => {
    const { url, emails } = await developmentDatabase();
    expect(emails).toEqual(['admin@pacs.local', ...DEMO_EMAILS]);
    const error = await startError(url);
    expect(error?.message).toMatch(/development accounts/);
    for (const email of DEMO_EMAILS) expect(error?.message).toContain(email);
    expect(error?.message).not.toContain('admin@pacs.local');
    expect(error?.message).not.toMatch(NO_PASSWORD);
  });

  it('names the development admin too when production uses another admin e-mail', async () => {
    const { url } = await developmentDatabase();
    const error = await startError(url, { PACS_ADMIN_EMAIL: 'root@hospital.example' });
    expect(error?.message).toContain('admin@pacs.local (development password)');
    // Its password changed and the demo accounts gone: the start goes ahead.
    const changedHash = await hashPassword('a-changed-admin-password', 12);
    await inDevelopment(url, async (m) => {
      await m.User.update({ passwordHash: changedHash }, { where: { email: 'admin@pacs.local' } });
      await m.User.update({ active: false }, { where: { email: DEMO_EMAILS } });
    });
    expect(await startError(url, { PACS_ADMIN_EMAIL: 'root@hospital.example' })).toBeNull();
  });

  it.each([
    [
      'demo accounts deactivated',
      (m: TestApp['app']['db']['models']) => m.User.update({ active: false }, { where: { email: DEMO_EMAILS } }),
    ],
    ['demo accounts deleted', (m: TestApp['app']['db']['models']) => m.User.destroy({ where: { email: DEMO_EMAILS } })],
  ])('starts once the %s; the admin signs in with PACS_ADMIN_PASSWORD only', async (_label, change) => {
    const { url } = await developmentDatabase();
    await inDevelopment(url, change);
    const app = await buildApp(productionConfig(url));
    try {
      const login = (password: string) =>
        app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'admin@pacs.local', password } });
      expect((await login(DEV_PASSWORDS.admin)).statusCode).toBe(401);
      expect((await login(PRODUCTION_ADMIN_PASSWORD)).statusCode).toBe(200);
      const audit = await app.db.models.AuditLog.findAll({ where: { eventId: 'SecurityAlert', objectType: 'User' }, raw: true });
      expect(audit.some((row) => row.details?.includes('PACS_ADMIN_PASSWORD'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('refuses a demo account whose password was changed (still a demo account); checks passwords of seeded and development e-mails only', async () => {
    const { url } = await developmentDatabase();
    const otherHash = await hashPassword('a-changed-demo-password', 12);
    const devHash = await hashPassword(DEV_PASSWORDS.resident, 12);
    await inDevelopment(url, async (m) => {
      await m.User.update({ passwordHash: otherHash }, { where: { email: DEMO_EMAILS } });
      await m.User.update({ active: false }, { where: { email: 'resident@pacs.local' } });
      await m.User.create({ email: 'admin@pacs.local.old', name: 'Old', role: 'admin', passwordHash: devHash });
    });
    const error = await startError(url, { PACS_ADMIN_EMAIL: 'root@hospital.example' });
    expect(error?.message).toContain('radiologist@pacs.local (demo account)');
    expect(error?.message).not.toContain('resident@pacs.local');
    // Not seeded and not a known e-mail: its password is checked only when it is set (common-password list).
    expect(error?.message).not.toContain('admin@pacs.local.old');
  });

  it('the real entry point exits non-zero with the accounts in its message', async () => {
    const { url } = await developmentDatabase();
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, '../src/server.ts')], {
      env: { ...process.env, ...productionEnv({ PACS_DATA_DIR: '/tmp/pacs-test-data-unused', PACS_API_PORT: '0' }), DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    // A start that is not refused keeps running: stop it, and the expectation below fails.
    const guard = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(guard);
    expect(code).not.toBe(0);
    expect(output).toContain('radiologist@pacs.local');
    expect(output).not.toMatch(NO_PASSWORD);
  }, 60_000);
});
