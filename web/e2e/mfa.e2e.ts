/**
 * The second factor in Chromium against the real API and gateway, with admins required to use one:
 * the first sign-in shows the QR code and the key, a code from them turns it on and shows the
 * recovery codes once; later sign-ins ask for a code (a wrong one is refused), a remembered device
 * skips the step, a recovery code works once. Codes come from otplib as an authenticator app makes them.
 */
import { generateSync } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, launchBrowser, type System, seriousViolations, startSystem } from './support';

let system: System;
let browser: Browser;

beforeAll(async () => {
  system = await startSystem({ env: { PACS_E2E_MFA_REQUIRED_ROLES: 'admin' } });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

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
