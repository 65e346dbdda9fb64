/**
 * Reports come to the device with the studies, in Debian's Chromium against the real API, gateway
 * and sync-server: a resident's tablet that never opened a report online holds the draft of an
 * assigned study and the signed report of its prior, opens both offline, and lets them go when the
 * study leaves the device. Storage the browser removed by itself is noticed, said, and downloaded
 * again; a logout (a deliberate wipe) is not taken for it.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openReport, requireServiceWorker, signReport, TABLET, WORKSTATION } from './report-scene';
import { caretAtSection, editorText } from './report-support';
import { apiLogin, enterOfflinePin, RADIOLOGIST, RESIDENT, type System, setOfflinePin, signIn, systemAndBrowserForFile } from './support';

let system: System;
let browser: Browser;

systemAndBrowserForFile({ sync: true }, (started) => ({ system, browser } = started));

const DAY = 86_400_000;

/**
 * The attending starts the study's report and types `text` into it on a workstation; `sign` signs it.
 * (Not the resident: starting or reading a report would keep the study on their device as opened.)
 */
async function writeReport(studyId: string, text: string, sign: boolean): Promise<string> {
  const attending = await apiLogin(system.url, RADIOLOGIST);
  const reportId = (await attending.call<{ id: string }>('POST', `/api/studies/${studyId}/report`, {})).id;
  const desk = await browser.newContext({ viewport: WORKSTATION });
  try {
    const page = await desk.newPage();
    await signIn(page, system.url, RADIOLOGIST);
    expect(await openReport(page, system.url, studyId)).toBe(reportId);
    await expect.poll(() => editorText(page, reportId)).toContain('Findings');
    await caretAtSection(page, reportId, 'Findings');
    await page.keyboard.press('Enter');
    await page.keyboard.type(text);
    await expect.poll(() => page.getByTestId('report-pending').first().getAttribute('data-count')).toBe('0');
    if (sign) await signReport(page, reportId);
  } finally {
    await desk.close();
  }
  return reportId;
}

/** A patient with a signed prior and a newer study assigned to the resident, its draft written by the attending. */
async function patientWithPrior(tag: string) {
  const resident = await apiLogin(system.url, RESIDENT);
  const prior = await system.seed({
    patientName: `Dl${tag}^Patient`,
    accessionNumber: `DL${tag}P`,
    description: 'CT CHEST',
    receivedAt: new Date(Date.now() - 400 * DAY).toISOString(),
  });
  const priorText = `Prior ${tag}: stable 6 mm nodule, right upper lobe.`;
  const priorReport = await writeReport(prior.id, priorText, true);
  // Received three days ago: on the device because it is assigned, not as a new arrival.
  const current = await system.seed({
    patientName: `Dl${tag}^Patient`,
    accessionNumber: `DL${tag}C`,
    description: 'CT CHEST',
    samePatientAs: prior.id,
    assigneeId: resident.userId,
    receivedAt: new Date(Date.now() - 3 * DAY).toISOString(),
  });
  const draftText = `Draft ${tag}: the nodule now measures 8 mm.`;
  const draftReport = await writeReport(current.id, draftText, false);
  return { prior, priorText, priorReport, current, draftText, draftReport };
}

const reportsLine = (page: Page) =>
  page
    .getByTestId('device-reports')
    .textContent({ timeout: 1_000 })
    .then((text) => text?.trim() ?? null)
    .catch(() => null);
const reportDatabases = (page: Page) =>
  page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? '').filter((name) => name.includes('.report.')));
const shownCount = (page: Page) =>
  page
    .getByTestId('worklist-count')
    .textContent()
    .then((t) => Number(t?.split(' ')[0]));

async function tabletOnWorklist(tag: string) {
  const context = await browser.newContext({ viewport: TABLET });
  const page = await context.newPage();
  await signIn(page, system.url, RESIDENT);
  await setOfflinePin(page);
  await requireServiceWorker(page);
  await page.getByRole('link', { name: 'Worklist', exact: true }).click();
  await page.getByTestId('worklist-search').fill(`DL${tag}`);
  await expect.poll(() => shownCount(page), { timeout: 30_000 }).toBe(2);
  return { context, page };
}

describe('reports on the device', () => {
  it('an assigned draft and its prior’s signed report open offline without ever being opened online, and leave with the study', async () => {
    const tag = randomBytes(3).toString('hex').toUpperCase();
    const scene = await patientWithPrior(tag);
    const { context, page } = await tabletOnWorklist(tag);
    try {
      await expect
        .poll(() => reportsLine(page), { timeout: 60_000 })
        .toBe('Reports on this device: 1 report in progress and 1 signed report.');
      const held = await reportDatabases(page);
      expect(held.some((name) => name.endsWith(`.report.${scene.draftReport}`))).toBe(true);

      // Offline: both reports open from the device.
      await context.setOffline(true);
      await page.goto(`${system.url}/report/${scene.current.id}?images=off`);
      await enterOfflinePin(page);
      await expect.poll(() => editorText(page, scene.draftReport), { timeout: 30_000 }).toContain(scene.draftText);
      await page.goto(`${system.url}/report/${scene.prior.id}?images=off`);
      await enterOfflinePin(page);
      await expect.poll(() => editorText(page, scene.priorReport, 'signed'), { timeout: 30_000 }).toContain(scene.priorText);
      await expect.poll(() => page.locator('.final-banner').first().textContent()).toMatch(/^Final — signed by/);

      // Back online, the study is given to someone else: it leaves the device with its prior, and their reports go too.
      // (Left offline: a report page open when the network returns reads the report, which is opening it.)
      await page.getByRole('link', { name: 'Worklist', exact: true }).click();
      await page.getByTestId('worklist-search').fill(`DL${tag}`);
      await context.setOffline(false);
      const attending = await apiLogin(system.url, RADIOLOGIST);
      const row = await attending.call<{ version: number }>('GET', `/api/studies/${scene.current.id}`);
      await attending.call('PATCH', `/api/studies/${scene.current.id}`, { assigneeId: attending.userId, version: row.version });
      await expect.poll(() => shownCount(page), { timeout: 60_000 }).toBe(0);
      await expect.poll(() => reportDatabases(page), { timeout: 60_000 }).toEqual([]);
      await expect.poll(() => reportsLine(page), { timeout: 30_000 }).toBeNull();
    } finally {
      await context.close();
    }
  });

  it('storage the browser removed is noticed, said and downloaded again; a logout is not taken for it', async () => {
    const tag = randomBytes(3).toString('hex').toUpperCase();
    const scene = await patientWithPrior(tag);
    const { context, page } = await tabletOnWorklist(tag);
    try {
      // Every report the device holds for the user (earlier tests' ones too), this patient's among them.
      await expect
        .poll(async () => (await reportDatabases(page)).some((name) => name.endsWith(`.report.${scene.draftReport}`)), {
          timeout: 60_000,
        })
        .toBe(true);
      await expect.poll(() => reportsLine(page), { timeout: 30_000 }).toMatch(/in progress and \d+ signed report/);
      const before = await reportsLine(page);

      // What Chromium does to a site under storage pressure: its IndexedDB goes, localStorage stays.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Storage.clearDataForOrigin', { origin: system.url, storageTypes: 'indexeddb' });
      await page.reload();
      await expect.poll(() => page.getByTestId('storage-evicted').isVisible(), { timeout: 30_000 }).toBe(true);
      await page.getByRole('link', { name: 'Worklist', exact: true }).click();
      await page.getByTestId('worklist-search').fill(`DL${tag}`);
      await expect.poll(() => shownCount(page), { timeout: 60_000 }).toBe(2);
      await expect.poll(() => reportsLine(page), { timeout: 60_000 }).toBe(before);
      expect((await reportDatabases(page)).some((name) => name.endsWith(`.report.${scene.draftReport}`))).toBe(true);
      await page.getByTestId('storage-evicted').getByRole('button', { name: 'Dismiss' }).click();
      await expect.poll(() => page.getByTestId('storage-evicted').count()).toBe(0);

      // A logout wipes the device on purpose: the next sign-in downloads again without the notice.
      await page.getByRole('button', { name: /Sign out|Log out/ }).click();
      await page.getByLabel('Email').waitFor();
      await signIn(page, system.url, RESIDENT);
      await page.getByRole('link', { name: 'Worklist', exact: true }).click();
      await page.getByTestId('worklist-search').fill(`DL${tag}`);
      await expect.poll(() => shownCount(page), { timeout: 60_000 }).toBe(2);
      expect(await page.getByTestId('storage-evicted').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
