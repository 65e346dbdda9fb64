/**
 * Single sign-on in Chromium against a real OpenID provider (the test kit's `oidc-provider`, over
 * TLS with a CA made for the run): the hospital button, the provider's own sign-in page, back into
 * the app as the mapped role, sign-out ending the provider's session too; and the refusals a user
 * sees on the login page: a tampered state, a replayed callback, an ID token for another
 * audience, an account the mapping does not allow. Local sign-in stays offered throughout.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, apiLogin, launchBrowser, type System, seriousViolations, startSystem } from './support';

let system: System;
let browser: Browser;

const account = (sub: string, groups: string[]) => ({ sub, email: `${sub}@hospital.test`, name: `Dr ${sub}`, groups });

beforeAll(async () => {
  system = await startSystem({ sso: true });
  browser = await launchBrowser();
  await system.idp({ account: account('attending1', ['radiology-attendings']) });
  await system.idp({ account: account('cook1', ['cafeteria']) });
  const admin = await apiLogin(system.url, ADMIN);
  await admin.call('PUT', '/api/sso/group-roles', { items: [{ group: 'radiology-attendings', role: 'attending' }] });
});
afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

/** The provider's certificate is from the run's own CA, which this browser does not know. */
const newContext = (): Promise<BrowserContext> => browser.newContext({ ignoreHTTPSErrors: true });

/** From the login page through the provider's form as `login`; stops where the provider sends the browser back. */
async function hospitalSignIn(page: Page, login: string): Promise<void> {
  await page.goto(system.url);
  await page.getByRole('link', { name: 'Hospital sign-in' }).click();
  await page.getByRole('heading', { name: 'Hospital sign-in' }).waitFor();
  await page.getByLabel('Login').fill(login);
  await page.getByRole('button', { name: 'Sign in at the hospital' }).click();
}

async function refusedWith(page: Page, text: string): Promise<void> {
  await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 15_000 }).toContain(text);
  // Local sign-in is still there, and the address bar no longer carries the code.
  await page.getByLabel('Email').waitFor();
  expect(new URL(page.url()).searchParams.has('sso_error')).toBe(false);
  expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
}

describe('single sign-on', () => {
  it('signs in through the provider as the mapped role, and signs out there too', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(system.url);
    await page.getByRole('link', { name: 'Hospital sign-in' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await hospitalSignIn(page, 'attending1');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await expect.poll(() => page.locator('a.user-name').textContent()).toContain('Dr attending1');
    expect(new URL(page.url()).searchParams.has('signin')).toBe(false);
    // Our own session: a reload refreshes through our cookie, not through the provider.
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    // RP-initiated logout: the provider asks to confirm, then sends the browser back to us.
    await page.getByRole('button', { name: /sign me out/i }).click();
    await expect
      .poll(() => page.getByRole('status').first().textContent(), { timeout: 15_000 })
      .toContain('Signed out here and at the hospital');
    // The provider's session is over: signing in again shows its form, not an instant return.
    await page.getByRole('link', { name: 'Hospital sign-in' }).click();
    await page.getByLabel('Login').waitFor();
    await context.close();
  });

  it('refuses an account the mapping does not allow, with the reason', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await hospitalSignIn(page, 'cook1');
    await refusedWith(page, 'has no role in this system');
    await context.close();
  });

  it('refuses a tampered state', async () => {
    const context = await newContext();
    const page = await context.newPage();
    // The state the provider will echo is not the one this browser's sign-in holds (Playwright
    // cannot reroute the provider's redirect back, so the outgoing one is changed instead).
    await page.route('**/api/auth/oidc/login*', async (route) => {
      const response = await route.fetch({ maxRedirects: 0 });
      const authorize = new URL(response.headers().location!);
      authorize.searchParams.set('state', 'attacker-chosen-state');
      await route.fulfill({ status: 303, headers: { ...response.headers(), location: authorize.href } });
    });
    await hospitalSignIn(page, 'attending1');
    await refusedWith(page, 'could not be verified');
    await context.close();
  });

  it('refuses a replayed callback after a successful sign-in', async () => {
    const context = await newContext();
    const page = await context.newPage();
    let callbackUrl: string | null = null;
    page.on('request', (request) => {
      if (request.url().includes('/api/auth/oidc/callback')) callbackUrl = request.url();
    });
    await hospitalSignIn(page, 'attending1');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(callbackUrl).not.toBeNull();
    // Another browser holding the URL (from a history, a log, a proxy) gets no session.
    const thief = await (await newContext()).newPage();
    await thief.goto(callbackUrl!);
    await refusedWith(thief, 'Please try again');
    await thief.context().close();
    await context.close();
  });

  it('refuses an ID token made for another application', async () => {
    await system.idp({ tamper: 'id-token-audience' });
    const context = await newContext();
    try {
      const page = await context.newPage();
      await hospitalSignIn(page, 'attending1');
      await refusedWith(page, 'could not be verified');
    } finally {
      await system.idp({ tamper: 'none' });
      await context.close();
    }
  });
});
