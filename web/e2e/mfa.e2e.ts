/**
 * The second factor in Chromium against the real API and gateway, with admins required to use one:
 * the first sign-in shows the QR code and the key, a code from them turns it on and shows the
 * recovery codes once; later sign-ins ask for a code (a wrong one is refused), a remembered device
 * skips the step, a recovery code works once; an admin resets a user's lost factor from the Users tab.
 * Codes come from otplib as an authenticator app makes them. Each test starts its own system, so
 * each passes alone (the seeded admin's factor is set up once per system).
 */
import { generateSync } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, launchBrowser, type System, seriousViolations, startSystem } from './support';

let system: System;
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** A system of the test's own, with admins required to use a second factor. */
function ownSystem(): void {
  beforeAll(async () => {
    system = await startSystem({ env: { PACS_E2E_MFA_REQUIRED_ROLES: 'admin' } });
  });
  afterAll(async () => {
    await system?.stop();
  });
}

const codeOf = (secret: string, stepsAhead = 0) => generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + stepsAhead * 30 });

async function password(page: Page): Promise<void> {
  await page.goto(system.url);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Email').waitFor();
}

describe('second factor', () => {
  ownSystem();

  it('enrols at the first sign-in, then asks for a code; a remembered device skips it; a recovery code works once', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await password(page);
    await page.getByRole('heading', { name: 'Set up your second factor' }).waitFor();
    await page.getByRole('img', { name: 'QR code to scan with an authenticator app' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    const secret = (await page.getByTestId('mfa-secret').textContent())!.trim();
    await page.getByLabel('Code').fill(codeOf(secret));
    await page.getByRole('button', { name: 'Turn on and sign in' }).click();
    await page.getByTestId('recovery-codes').waitFor();
    const codes = (await page.getByTestId('recovery-codes').locator('code').allTextContents()).map((c) => c.trim());
    expect(codes).toHaveLength(10);
    await page.getByRole('button', { name: /I have saved them/ }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();

    await signOut(page);
    await password(page);
    await page.getByRole('heading', { name: 'Code from your authenticator app' }).waitFor();
    const wrong = codeOf(secret, 1) === '123456' ? '654321' : '123456';
    await page.getByLabel('Code').fill(wrong);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not valid');
    await page.getByLabel('Code').fill(codeOf(secret, 1));
    await page.getByLabel('Remember this device').check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();

    // The same browser: remembered.
    await signOut(page);
    await password(page);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await context.close();

    // Another browser: the second factor again; a recovery code once.
    const other = await (await browser.newContext()).newPage();
    await password(other);
    await other.getByRole('button', { name: 'Use a recovery code' }).click();
    await other.getByLabel('Recovery code').fill(codes[0]!);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('navigation', { name: 'Main' }).waitFor();
    await other.locator('a.user-name').click();
    await expect.poll(() => other.getByTestId('mfa-status').textContent()).toContain('9 recovery codes left');
    await signOut(other);
    await password(other);
    await other.getByRole('button', { name: 'Use a recovery code' }).click();
    await other.getByLabel('Recovery code').fill(codes[0]!);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => other.getByRole('alert').textContent()).toContain('not valid');
    await other.context().close();
  });
});

/** A JSON call to the system's API; `token` for an authenticated one. */
async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const response = await fetch(`${system.url}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

describe("an admin resets a user's second factor", () => {
  ownSystem();

  it('from the Users tab: the user then signs in with the password alone and may set up a new factor', async () => {
    // The admin's own factor, set up over the API as an authenticator app would.
    const adminStep = await call<{ mfa: string; challenge: string }>('POST', '/api/auth/login', ADMIN);
    expect(adminStep.mfa).toBe('enrol');
    const { secret: adminSecret } = await call<{ secret: string }>('POST', '/api/auth/mfa/enrol', { challenge: adminStep.challenge });
    const admin = await call<{ accessToken: string }>('POST', '/api/auth/mfa/enrol/confirm', {
      challenge: adminStep.challenge,
      code: codeOf(adminSecret),
    });

    // A user who set up a second factor and lost the phone.
    const user = { email: 'lost.phone@pacs.local', password: 'tangerine-harbour-kettle-41' };
    await call('POST', '/api/users', { ...user, name: 'Lost Phone', role: 'attending' }, admin.accessToken);
    const session = await call<{ accessToken: string }>('POST', '/api/auth/login', user);
    const { secret } = await call<{ secret: string }>('POST', '/api/auth/mfa/setup', undefined, session.accessToken);
    await call('POST', '/api/auth/mfa/activate', { code: codeOf(secret) }, session.accessToken);
    expect(await call('POST', '/api/auth/login', user)).toMatchObject({ mfa: 'verify' });

    // The admin signs in (with their code) and resets it from the Users tab.
    const context = await browser.newContext();
    const page = await context.newPage();
    await password(page);
    await page.getByRole('heading', { name: 'Code from your authenticator app' }).waitFor();
    await page.getByLabel('Code').fill(codeOf(adminSecret, 1));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.goto(`${system.url}/admin/users`);
    const row = page.getByTestId('users-table').locator('tr', { hasText: user.email });
    await row.getByRole('button', { name: 'Reset second factor' }).click();
    await expect.poll(() => page.getByTestId('admin-notice').textContent()).toContain(`Second factor of ${user.email} reset`);
    await context.close();

    // The user's next sign-in needs the password only; in the browser too.
    expect(await call('POST', '/api/auth/login', user)).toHaveProperty('accessToken');
    const userPage = await (await browser.newContext()).newPage();
    await userPage.goto(system.url);
    await userPage.getByLabel('Email').fill(user.email);
    await userPage.getByLabel('Password').fill(user.password);
    await userPage.getByRole('button', { name: 'Sign in' }).click();
    await userPage.getByRole('navigation', { name: 'Main' }).waitFor();
    await userPage.locator('a.user-name').click();
    await userPage.getByRole('button', { name: 'Set up a second factor' }).waitFor();
    await userPage.context().close();
  });
});
