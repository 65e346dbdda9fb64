/**
 * A newcomer logs in through Swagger UI in a real Chromium: try out the login, authorize with
 * the token, call /api/auth/me. Also proves the CSP lets the docs page work.
 */
import type { AddressInfo } from 'node:net';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '@pacs/test-kit/browser';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createTestApp, type TestApp } from './support/app';

let t: TestApp;
let browser: Browser;
let base: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('Swagger UI', () => {
  it('lets a newcomer log in and call an authenticated route', async () => {
    const page = await browser.newPage();
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(`${base}/api/docs/`);

    const login = page.locator('.opblock', { has: page.locator('.opblock-summary-path', { hasText: /^\/api\/auth\/login$/ }) });
    await login.locator('.opblock-summary').click();
    await login.locator('.try-out__btn').click();
    await login.locator('textarea.body-param__text').fill(JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }));
    await login.locator('.execute').click();
    const body = login.locator('.live-responses-table .response-col_description .microlight');
    await expect
      .poll(async () => (await body.count()) > 0 && (await body.first().textContent()), { timeout: 10_000 })
      .toContain('accessToken');
    const token = JSON.parse((await body.first().textContent()) ?? '{}').accessToken as string;
    expect(token.split('.')).toHaveLength(3);

    await page.locator('.auth-wrapper .authorize').click();
    await page.locator('.modal-ux input[type=text]').fill(token);
    await page.locator('.modal-ux .auth-btn-wrapper .authorize').click();
    await page.locator('.modal-ux .btn-done').click();

    const me = page.locator('.opblock', { has: page.locator('.opblock-summary-path', { hasText: /^\/api\/auth\/me$/ }) });
    await me.locator('.opblock-summary').click();
    await me.locator('.try-out__btn').click();
    await me.locator('.execute').click();
    const status = me.locator('.live-responses-table .response .response-col_status');
    await expect
      .poll(async () => ((await status.count()) > 0 ? (await status.first().textContent())?.trim() : ''), { timeout: 10_000 })
      .toBe('200');
    await expect.poll(async () => me.locator('.live-responses-table .microlight').first().textContent()).toContain(ADMIN_EMAIL);
    expect(cspViolations, cspViolations.join('\n')).toEqual([]);
    await page.close();
  });
});
