/**
 * A revoked device wipes itself, in Chromium against the real API, gateway and Orthanc: a
 * radiologist makes a study available offline (the device reports it holds one), an admin revokes
 * that device from the radiologist's sessions and devices in the Users tab, the radiologist's next action
 * signs them out with a message, every IndexedDB database of the app is gone, and the server shows
 * the wipe the device reported.
 */
import type { DeviceList } from '@pacs/shared';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, apiLogin, type DicomStudy, launchBrowser, RADIOLOGIST, type System, signIn, startSystem } from './support';

let system: System;
let browser: Browser;
let study: DicomStudy;

beforeAll(async () => {
  system = await startSystem({ orthanc: true });
  study = await system.storeDemoStudy(0, 41);
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

const appDatabases = (page: Page) =>
  page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? '').filter((name) => name.startsWith('pacs-')));

describe('revoking a device', () => {
  it('signs the device out at its next action, wipes its offline data and reports the wipe', async () => {
    const radiologist = await browser.newContext();
    const page = await radiologist.newPage();
    await signIn(page, system.url, RADIOLOGIST);
    await page.goto(`${system.url}/viewer/${study.id}?source=online`);
    await page.getByRole('button', { name: 'Make available offline' }).click();
    await expect.poll(() => page.getByTestId('offline-state').textContent(), { timeout: 60_000 }).toContain('Available offline');
    expect((await appDatabases(page)).some((name) => name.startsWith('pacs-worklist-'))).toBe(true);

    // The server learns what the device holds (reported once the counts settle).
    const admin = await apiLogin(system.url, ADMIN);
    const radiologistId = (await apiLogin(system.url, RADIOLOGIST)).userId;
    const devicesOf = async () => (await admin.call<DeviceList>('GET', `/api/admin/devices?userId=${radiologistId}`)).items;
    await expect.poll(async () => (await devicesOf()).find((d) => d.holdings.studies === 1)?.id, { timeout: 20_000 }).toBeTruthy();
    const device = (await devicesOf()).find((d) => d.holdings.studies === 1)!;
    expect(device.label).toMatch(/^Chrome \d+ on Linux$/);

    // The admin revokes it from the radiologist's row of the Users tab.
    const adminContext = await browser.newContext();
    const adminPage = await adminContext.newPage();
    await signIn(adminPage, system.url, ADMIN);
    await adminPage.goto(`${system.url}/admin/users`);
    const userRow = adminPage.getByTestId('users-table').locator('tr', { hasText: RADIOLOGIST.email });
    await userRow.getByRole('button', { name: 'Sessions and devices' }).click();
    const row = adminPage.locator(`tr[data-device-id="${device.id}"]`);
    await row.getByRole('button', { name: 'Revoke device' }).click();
    await expect.poll(() => row.getByTestId('device-state').textContent()).toContain('wipe pending');

    // The radiologist's next action: the session is over, the device wipes and says why.
    await page.locator('a.user-name').click();
    await page.getByLabel('Email').waitFor();
    await expect.poll(() => page.locator('body').textContent()).toContain('its offline data');
    await expect.poll(() => appDatabases(page)).toEqual([]);

    // The server has the wipe the device reported.
    await expect.poll(async () => (await devicesOf()).find((d) => d.id === device.id)?.wipedAt ?? null, { timeout: 10_000 }).not.toBeNull();
    const wiped = (await devicesOf()).find((d) => d.id === device.id)!;
    expect(wiped.wipeReport).toMatchObject({ studies: 1 });
    expect(wiped.wipeReport!.databases).toBeGreaterThanOrEqual(1);
    expect(wiped.holdings).toEqual({ studies: 0, reports: 0, worklistRows: 0 });
    // Everyone's devices, in the admin tab, show it too.
    await adminPage.goto(`${system.url}/admin/sessions`);
    await expect.poll(() => row.getByTestId('device-state').textContent()).toContain('wiped at');

    // The same browser signs in again, as a new device.
    await signIn(page, system.url, RADIOLOGIST);
    await expect.poll(async () => (await devicesOf()).filter((d) => !d.revokedAt).length).toBe(1);
    await adminContext.close();
    await radiologist.close();
  });
});
