/**
 * Starting a report with the network off, in Debian's Chromium against the real API, gateway and
 * sync-server: the resident opens the study once online (the template list lands on the device),
 * reloads offline, starts the report and types; back online the server adopts the report under the
 * device's id and holds the typed text once beside a single copy of the template. In the second
 * case the resident started the report while the attending was offline: what the attending typed
 * lands in the resident's report, marked, and the page says so.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Desks, openReport, requireServiceWorker, seedReportStudy, startReportByApi } from './report-scene';
import { caretAtSection, editorText, shownReportId } from './report-support';
import { apiLogin, enterOfflinePin, launchBrowser, RADIOLOGIST, RESIDENT, type System, setOfflinePin, startSystem } from './support';

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

const count = (text: string | null, part: string) => (text ?? '').split(part).length - 1;

/** A user on the study's report page with no report yet, then offline after a reload: the report started and typed into. */
async function startOffline(
  who: typeof RESIDENT,
  studyId: string,
  typed: string,
): Promise<{ page: Page; context: BrowserContext; localId: string }> {
  const { page, context } = await desks.open(who);
  await page.goto(`${system.url}/report/${studyId}?images=off`);
  await page.getByText('No report has been started for this study.').waitFor();
  await setOfflinePin(page);
  await requireServiceWorker(page);
  await page.getByRole('button', { name: 'Start report' }).waitFor();
  await context.setOffline(true);
  await page.reload();
  await enterOfflinePin(page);
  const start = page.getByRole('button', { name: 'Start report' });
  await expect.poll(() => start.isEnabled()).toBe(true);
  await start.click();
  const localId = await shownReportId(page);
  await expect.poll(() => page.locator('.report-meta').textContent()).toContain('started on this device, not yet on the server');
  await expect.poll(() => editorText(page, localId)).toContain('Findings');
  await caretAtSection(page, localId, 'Findings');
  await page.keyboard.press('Enter');
  await page.keyboard.type(typed);
  await expect.poll(() => editorText(page, localId)).toContain(typed);
  await expect.poll(() => page.getByTestId('report-saved').first().getAttribute('data-on-device')).toBe('true');
  return { page, context, localId };
}

describe('a report started offline', () => {
  it('is adopted under the device id on reconnect; the server holds the typed text once and the template once', async () => {
    const studyId = await seedReportStudy(system);
    const typed = 'Offline finding: 4 mm nodule, right upper lobe.';
    const { page, context, localId } = await startOffline(RESIDENT, studyId, typed);

    await context.setOffline(false);
    const api = await apiLogin(system.url, RADIOLOGIST);
    await expect
      .poll(async () => (await api.call<{ id: string }>('GET', `/api/studies/${studyId}/report`).catch(() => null))?.id, {
        timeout: 30_000,
      })
      .toBe(localId);
    await expect.poll(() => page.locator('.report-meta').textContent(), { timeout: 30_000 }).not.toContain('not yet on the server');
    await expect.poll(() => page.getByTestId('report-link').first().getAttribute('data-state'), { timeout: 30_000 }).toBe('live');

    // What the server has, as another user's editor receives it.
    const attending = await desks.open(RADIOLOGIST);
    expect(await openReport(attending.page, system.url, studyId)).toBe(localId);
    await expect.poll(() => editorText(attending.page, localId), { timeout: 30_000 }).toContain(typed);
    const text = await editorText(attending.page, localId);
    expect(count(text, typed)).toBe(1);
    for (const title of ['Clinical history', 'Findings', 'Impression']) expect(count(text, title), title).toBe(1);
  });

  it('started by someone else meanwhile: the typed text is merged into theirs, marked, and the page says so', async () => {
    const studyId = await seedReportStudy(system);
    const typed = 'Offline line: no pleural effusion.';
    // The attending offline (they may write into a resident's draft), the resident online.
    const { page, context, localId } = await startOffline(RADIOLOGIST, studyId, typed);
    const started = await startReportByApi(system, RESIDENT, studyId);
    expect(started).not.toBe(localId);

    await context.setOffline(false);
    await expect.poll(() => page.getByTestId('offline-draft-merged').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await page.getByTestId('offline-draft-merged').textContent()).toContain('(offline draft)');
    await expect.poll(() => shownReportId(page)).toBe(started);

    const resident = await desks.open(RESIDENT);
    expect(await openReport(resident.page, system.url, studyId)).toBe(started);
    await expect.poll(() => editorText(resident.page, started), { timeout: 30_000 }).toContain(`(offline draft) ${typed}`);
    const text = await editorText(resident.page, started);
    expect(count(text, typed)).toBe(1);
    for (const title of ['Clinical history', 'Findings', 'Impression']) expect(count(text, title), title).toBe(1);
    // The report the device started is nowhere: not on the server, not shown.
    const api = await apiLogin(system.url, RADIOLOGIST);
    expect(
      await api.call('GET', `/api/reports/${localId}`).then(
        () => 'found',
        () => 'gone',
      ),
    ).toBe('gone');
  });
});
