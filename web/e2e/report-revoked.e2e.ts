/**
 * Access that changes while a report is open, in Chromium against the real API, gateway and
 * sync-server: the sync-server makes the connection read-only when the report is submitted (here
 * from the resident's other device, so only the server's notice can tell this page).
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Desks, reportScene } from './report-scene';
import { caretAtSection, editorEditable, editorText } from './report-support';
import { apiLogin, launchBrowser, RESIDENT, type System, startSystem } from './support';

let system: System;
let desks: Desks;

beforeAll(async () => {
  system = await startSystem({ sync: true });
  desks = new Desks(await launchBrowser(), system.url);
});

afterEach(async () => {
  await desks.closeAll();
});

afterAll(async () => {
  await desks?.browser.close();
  await system?.stop();
});

const readOnly = (page: Page) => page.getByTestId('report-read-only').first();

describe('report access changes while open', () => {
  it('submitted elsewhere: the open editor turns read-only at once and says why', async () => {
    const { reportId, resident } = await reportScene(system, desks, ['resident']);
    await caretAtSection(resident, reportId, 'Findings');
    await resident.keyboard.type(' No acute findings.');
    await expect.poll(() => resident.getByTestId('report-pending').first().getAttribute('data-count')).toBe('0');
    expect(await editorEditable(resident, reportId)).toBe(true);

    const otherDevice = await apiLogin(system.url, RESIDENT);
    const report = await otherDevice.call<{ version: number }>('GET', `/api/reports/${reportId}`);
    await otherDevice.call('POST', `/api/reports/${reportId}/submit`, { version: report.version });

    await expect.poll(() => editorEditable(resident, reportId), { timeout: 20_000 }).toBe(false);
    await expect.poll(() => readOnly(resident).textContent()).toMatch(/^Read-only: submitted for review/);
    expect(await editorText(resident, reportId)).toContain('No acute findings.');
  });
});
