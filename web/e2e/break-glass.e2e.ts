/**
 * Break the glass in Chromium against the real API and gateway: a study restricted by the admin
 * shows masked in the radiologist's worklist (on the device too); the radiologist states a reason,
 * the row opens with the patient's data under an "Emergency access until HH:MM" banner; the admin
 * finds the access in the Emergency access tab and signs it off; when the window closes the page and
 * the device hold the masked row again.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, apiLogin, launchBrowser, RADIOLOGIST, type System, signIn, startSystem } from './support';

let system: System;
let browser: Browser;
const pages: Page[] = [];

beforeAll(async () => {
  system = await startSystem();
  browser = await launchBrowser();
});
afterEach(async () => {
  for (const page of pages.splice(0)) await page.context().close();
});
afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

async function signedIn(who: { email: string; password: string }): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  pages.push(page);
  await signIn(page, system.url, who);
  return page;
}

describe('break the glass', () => {
  it('a restricted study shows masked; a reason opens it; the admin reviews and signs off the access', async () => {
    const tag = randomBytes(3).toString('hex').toUpperCase();
    const name = `Famous^Frida${tag}`;
    const accession = `BG${tag}`;
    const study = await system.seed({ patientName: name, accessionNumber: accession, patientId: `VIP${tag}` });
    const admin = await apiLogin(system.url, ADMIN);
    await admin.call('PUT', `/api/studies/${study.id}/restriction`, { restricted: true });

    const page = await signedIn(RADIOLOGIST);
    await page.getByRole('link', { name: 'Worklist', exact: true }).click();
    const row = page.locator(`[data-testid="worklist-row"][data-study-id="${study.id}"]`);
    await row.waitFor();
    await row.getByTestId('restricted-label').waitFor();
    expect(await row.textContent()).toContain(accession);
    expect(await row.textContent()).not.toContain('Frida');
    // The device's own copy holds the masked row only (as the app opens it from its sealed store).
    const storedRow = () =>
      page.evaluate(
        (id) =>
          (
            window as unknown as { __pacsDevice: { storedRow(id: string): Promise<{ patientName: string; access: string } | null> } }
          ).__pacsDevice.storedRow(id),
        study.id,
      );
    await expect.poll(storedRow).toMatchObject({ patientName: '', access: 'masked' });
    expect(await page.getByTestId('emergency-banner').count()).toBe(0);

    await row.getByRole('button', { name: 'Break the glass' }).click();
    const dialog = page.getByTestId('break-glass-dialog');
    await dialog.getByLabel(/Why do you need/).fill('too short');
    await dialog.getByRole('button', { name: 'Open the record' }).click();
    await dialog.getByRole('alert').waitFor();
    expect(await dialog.getByRole('alert').textContent()).toContain('at least 10 characters');
    await dialog.getByLabel(/Why do you need/).fill('Patient collapsed in the ED, comparing with prior CT');
    await dialog.getByRole('button', { name: 'Open the record' }).click();

    await page.getByTestId('study-detail').waitFor();
    await expect.poll(() => row.textContent()).toContain('Frida');
    const banner = page.getByTestId('emergency-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/^Emergency access until \d{2}:\d{2}$/);
    expect(await page.getByTestId('study-detail').textContent()).toContain('Frida');
    await expect.poll(storedRow).toMatchObject({ patientName: name, access: 'open' });

    const adminPage = await signedIn(ADMIN);
    await adminPage.goto(`${system.url}/admin/emergency-access`);
    const entry = adminPage.locator('[data-testid="emergency-row"]', { hasText: accession });
    await entry.waitFor();
    expect(await entry.textContent()).toContain('Patient collapsed in the ED, comparing with prior CT');
    expect(await entry.textContent()).toContain('Frida');
    await entry.getByPlaceholder('Note (optional)').fill('Seen in the ED log');
    await entry.getByRole('button', { name: 'Justified', exact: true }).click();
    await expect.poll(() => adminPage.getByTestId('emergency-notice').textContent()).toContain('signed off as justified');
    await expect.poll(() => adminPage.locator('[data-testid="emergency-row"]', { hasText: accession }).count()).toBe(0);
    await adminPage.getByTestId('emergency-status').selectOption('justified');
    const signed = adminPage.locator('[data-testid="emergency-row"]', { hasText: accession });
    await signed.waitFor();
    expect(await signed.textContent()).toContain('justified by');

    const reviewed = await admin.call<{ items: { study: { id: string }; reviewStatus: string; reviewNote: string }[] }>(
      'GET',
      '/api/privacy/emergency-access?status=justified&limit=200',
    );
    expect(reviewed.items.find((i) => i.study.id === study.id)).toMatchObject({
      reviewStatus: 'justified',
      reviewNote: 'Seen in the ED log',
    });
  });

  it("an admin restricts a study from the worklist, and lifts an order's restriction only after confirming", async () => {
    const tag = randomBytes(3).toString('hex').toUpperCase();
    const seeded = await system.seed({ patientName: `Plain^Pia${tag}`, accessionNumber: `AR${tag}` });
    // An order marked confidential by the hospital (ORC-28 = R).
    const message = [
      `MSH|^~\\&|EPICRIS|GENHOSP|PACS|RADIOLOGY|20261203140000||ORM^O01|C${tag}|P|2.4`,
      `PID|1||MRN${tag}^^^GENHOSP^MR||Vip^Victor${tag}`,
      `ORC|NW|P${tag}^EPICRIS|F${tag}^RIS||||^^^20261205090000^^R${'|'.repeat(21)}R`,
      `OBR|1|P${tag}^EPICRIS|F${tag}^RIS|CTHEAD^CT head^L||||||||||||||OR${tag}||||||CT`,
    ].join('\r');
    expect(await system.hl7(`${message}\r`)).toMatch(/\|AA\|/);

    const page = await signedIn(ADMIN);
    await page.getByRole('link', { name: 'Worklist', exact: true }).click();
    const plainRow = page.locator(`[data-testid="worklist-row"][data-study-id="${seeded.id}"]`);
    await plainRow.waitFor();
    await plainRow.getByRole('button', { name: 'Restrict' }).click();
    await plainRow.getByTestId('restricted-label').waitFor();
    expect(await plainRow.textContent()).not.toContain('Pia');

    const orderRow = page.locator('[data-testid="worklist-row"]', { hasText: `OR${tag}` });
    await orderRow.getByTestId('restricted-label').waitFor();
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await orderRow.getByRole('button', { name: 'Lift restriction' }).click();
    await expect.poll(() => orderRow.textContent()).toContain('Victor');
    expect(asked[0]).toContain('order');
  });
});
