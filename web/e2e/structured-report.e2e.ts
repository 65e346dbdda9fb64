/**
 * Structured reporting in Debian's Chromium against the real API and sync-server: a report from a
 * template with fill-in fields; Tab and Shift-Tab move between them, a pick list offers its
 * choices, submitting is refused while a required field is empty (the field named, marked and
 * focused), and once filled the report is submitted and signed with the values in its text.
 * Personal macros: made in one browser context, found in another, expanded from `.trigger`, and
 * made and used offline, reaching the server once back online.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Desks, openReport, requireServiceWorker, seedReportStudy, signReport, startReportByApi } from './report-scene';
import { caretAtSection, editorText } from './report-support';
import {
  ADMIN,
  apiLogin,
  enterOfflinePin,
  launchBrowser,
  RADIOLOGIST,
  RESIDENT,
  type System,
  seriousViolations,
  setOfflinePin,
  startSystem,
} from './support';

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

const TEMPLATE = {
  name: 'CT chest nodule (e2e)',
  modalities: ['CT'],
  sections: [
    { key: 'findings', title: 'Findings', defaultText: 'Lungs clear apart from the nodule.' },
    {
      key: 'nodule',
      title: 'Nodule',
      fields: [
        { id: 'nodule-size', label: 'Size (mm)', kind: 'text', required: true },
        { id: 'lung-rads', label: 'Lung-RADS', kind: 'choice', choices: ['1', '2', '3', '4A'], required: true },
      ],
    },
  ],
};

/** The accessible name of the focused element. */
const focusedLabel = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? null);
const field = (page: Page, id: string) => page.locator(`.report-app > .report-document [data-field-id="${id}"]`);

describe('structured report', () => {
  it('tabs through fields, picks a choice, refuses submit with the empty field shown, then submits and signs', async () => {
    const admin = await apiLogin(system.url, ADMIN);
    const template = await admin.call<{ id: string }>('POST', '/api/templates', TEMPLATE);
    const studyId = await seedReportStudy(system);
    const residentApi = await apiLogin(system.url, RESIDENT);
    const reportId = (await residentApi.call<{ id: string }>('POST', `/api/studies/${studyId}/report`, { templateId: template.id })).id;

    const { page } = await desks.open(RESIDENT);
    expect(await openReport(page, system.url, studyId)).toBe(reportId);
    await expect.poll(() => page.getByTestId('report-link').first().getAttribute('data-state')).toBe('live');
    await expect.poll(() => field(page, 'lung-rads').count()).toBe(1);
    await page.locator('.macros-panel summary').click();
    expect(await seriousViolations(page)).toEqual([]);

    // From the text, Tab goes to the first field, Tab again to the next, Shift-Tab back.
    await caretAtSection(page, reportId, 'Findings');
    await page.keyboard.press('Tab');
    expect(await focusedLabel(page)).toBe('Size (mm) (required)');
    await page.keyboard.type('6');
    await page.keyboard.press('Tab');
    expect(await focusedLabel(page)).toBe('Lung-RADS (required)');
    await page.keyboard.press('Shift+Tab');
    expect(await focusedLabel(page)).toBe('Size (mm) (required)');
    await expect.poll(() => editorText(page, reportId)).toContain('Size (mm): 6');

    // The pick list offers exactly its choices.
    const menu = field(page, 'lung-rads').locator('select');
    expect(await menu.locator('option').allTextContents()).toEqual(['— Lung-RADS —', '1', '2', '3', '4A']);
    expect(await field(page, 'lung-rads').getAttribute('data-missing')).toBe('true');

    // Submitting with Lung-RADS empty is refused: the field is named, marked and focused.
    await expect.poll(() => page.getByTestId('report-pending').first().getAttribute('data-count')).toBe('0');
    const refused = page.waitForResponse((r) => r.url().endsWith(`/api/reports/${reportId}/submit`));
    await page.getByRole('button', { name: 'Submit preliminary' }).click();
    expect((await refused).status()).toBe(409);
    await expect.poll(() => page.locator('.report-app > .report-document [role="alert"]').first().textContent()).toContain('Lung-RADS');
    expect(await page.locator('.report-app > .report-document').getAttribute('data-fields-refused')).toBe('true');
    await expect.poll(() => focusedLabel(page)).toBe('Lung-RADS (required)');
    expect(await field(page, 'nodule-size').getAttribute('data-missing')).toBe('false');

    await menu.selectOption('3');
    await expect.poll(() => field(page, 'lung-rads').getAttribute('data-missing')).toBe('false');
    await expect.poll(() => editorText(page, reportId)).toContain('Lung-RADS: 3');
    await expect.poll(() => page.getByTestId('report-pending').first().getAttribute('data-count')).toBe('0');
    const submitted = page.waitForResponse((r) => r.url().endsWith(`/api/reports/${reportId}/submit`));
    await page.getByRole('button', { name: 'Submit preliminary' }).click();
    expect((await submitted).status()).toBe(200);

    // The attending sees the filled values and signs; the signed text carries them.
    const attending = await desks.open(RADIOLOGIST);
    expect(await openReport(attending.page, system.url, studyId)).toBe(reportId);
    await expect.poll(() => field(attending.page, 'lung-rads').locator('select').inputValue()).toBe('3');
    await expect.poll(() => attending.page.getByTestId('report-link').first().getAttribute('data-state')).toBe('live');
    await signReport(attending.page, reportId);
    const signed = await editorText(attending.page, reportId, 'signed');
    expect(signed).toContain('Size (mm): 6');
    expect(signed).toContain('Lung-RADS: 3');
  });

  it('a macro made in one browser context appears in another, expands from its trigger, and works offline', async () => {
    const studyId = await seedReportStudy(system);
    const reportId = await startReportByApi(system, RESIDENT, studyId);
    const residentApi = await apiLogin(system.url, RESIDENT);
    const serverTriggers = async () =>
      (await residentApi.call<{ items: { trigger: string }[] }>('GET', '/api/macros')).items.map((m) => m.trigger);
    const [first, second] = await Promise.all([desks.open(RESIDENT), desks.open(RESIDENT)]);
    const panel = (page: Page) => page.locator('.macros-panel');

    expect(await openReport(first.page, system.url, studyId)).toBe(reportId);
    await panel(first.page).locator('summary').click();
    await first.page.getByRole('button', { name: 'New macro' }).click();
    await first.page.getByLabel('Trigger').fill('clearlungs');
    await first.page.getByLabel('Name', { exact: true }).fill('Clear lungs');
    await first.page.getByLabel('Text', { exact: true }).fill('The lungs are clear.');
    await first.page.getByRole('button', { name: 'Save macro' }).click();
    await expect.poll(serverTriggers).toContain('clearlungs');

    // The other context finds it, and typing its trigger then a space inserts it.
    expect(await openReport(second.page, system.url, studyId)).toBe(reportId);
    await setOfflinePin(second.page);
    await expect.poll(() => second.page.getByTestId('report-link').first().getAttribute('data-state')).toBe('live');
    await panel(second.page).locator('summary').click();
    await expect.poll(() => panel(second.page).locator('[data-macro-trigger="clearlungs"]').count()).toBe(1);
    await caretAtSection(second.page, reportId, 'Findings');
    await second.page.keyboard.type(' .clearlungs ');
    await expect.poll(() => editorText(second.page, reportId)).toContain('The lungs are clear. ');
    expect(await editorText(second.page, reportId)).not.toContain('.clearlungs');

    // Offline: the macros are still there after a reload, a new one is made and used, and reaches the server later.
    await requireServiceWorker(second.page);
    await second.context.setOffline(true);
    await second.page.reload();
    await enterOfflinePin(second.page);
    await panel(second.page).locator('summary').click();
    await expect.poll(() => panel(second.page).locator('[data-macro-trigger="clearlungs"]').count()).toBe(1);
    await second.page.getByRole('button', { name: 'New macro' }).click();
    await second.page.getByLabel('Trigger').fill('nofx');
    await second.page.getByLabel('Name', { exact: true }).fill('No fracture');
    await second.page.getByLabel('Text', { exact: true }).fill('No fracture seen.');
    await second.page.getByRole('button', { name: 'Save macro' }).click();
    await expect.poll(() => panel(second.page).locator('[data-macro-trigger="nofx"]').count()).toBe(1);
    await caretAtSection(second.page, reportId, 'Impression');
    await second.page.keyboard.type('.nofx ');
    await expect.poll(() => editorText(second.page, reportId)).toContain('No fracture seen. ');
    expect(await serverTriggers()).not.toContain('nofx');
    await second.context.setOffline(false);
    await expect.poll(serverTriggers, { timeout: 30_000 }).toContain('nofx');
    expect((await serverTriggers()).filter((t) => t === 'nofx')).toHaveLength(1);
  });
});
