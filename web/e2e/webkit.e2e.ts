/**
 * The tablet path in WebKit (Debian's WebKitGTK through WebKitWebDriver; Safari on iPadOS is the
 * same engine family): sign in, the worklist, a study in the viewer with a non-blank image, "Make
 * available offline", then without the server: reload, the PIN, the report typed offline survives a
 * reload, the study opens from the device; with the server back the report reaches it.
 * One system, one WebKit session and one test (CI time): one radiologist's session on one tablet.
 * WebDriver cannot set WebKit offline: the gateway stops listening and cuts its connections
 * (`system.network('down')`), so every request and WebSocket of the page fails as without a network.
 */
import { By } from 'selenium-webdriver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReportByApi } from './report-scene';
import { caretAtSection, editorText } from './report-support';
import { apiLogin, type DicomStudy, OFFLINE_PIN, RADIOLOGIST, type System, startSystem } from './support';
import { canvasStats, viewerState } from './viewer-support';
import { launchWebKit, type WebKit } from './webkit/launch';
import { WebKitPage } from './webkit/page';

let system: System;
let webkit: WebKit;
let page: WebKitPage;
let study: DicomStudy;
let reportId: string;
const started = Date.now();

beforeAll(async () => {
  [system, webkit] = await Promise.all([startSystem({ orthanc: true, sync: true }), launchWebKit()]);
  page = new WebKitPage(webkit.driver);
  study = await system.storeDemoStudy(0, 14);
  reportId = await startReportByApi(system, RADIOLOGIST, study.id);
  // A report in progress is no unread arrival: following the study keeps it on the radiologist's devices.
  await (await apiLogin(system.url, RADIOLOGIST)).call('PUT', `/api/studies/${study.id}/follow`);
});
afterAll(async () => {
  await system?.network('up').catch(() => undefined);
  await webkit?.close();
  await system?.stop();
  console.log(`webkit: file took ${((Date.now() - started) / 1000).toFixed(0)} s (WebKitGTK ${webkit?.version})`);
});

const PIN_HEADING = '#pin-title';

async function enterPin(): Promise<void> {
  await page.waitFor(PIN_HEADING, 60_000);
  await page.fill('PIN', OFFLINE_PIN, '//form[@aria-labelledby="pin-title"]');
  await page.click('Open', '//form[@aria-labelledby="pin-title"]');
  await page.waitGone(PIN_HEADING);
}

/**
 * The viewer shows an image: its hook has a state, no message covers the viewport, and the canvas
 * holds a drawn CT slice, not a blank or uniform one (the state is set before the first paint: on a
 * loaded machine the canvas was seen still black when first read).
 */
async function waitForImage(timeout = 60_000) {
  const p = page.asPlaywrightPage();
  await expect
    .poll(async () => (await viewerState(p)) !== null && (await page.count('[data-testid="viewport-message"]')) === 0, { timeout })
    .toBe(true);
  let stats: Awaited<ReturnType<typeof canvasStats>> = null;
  await expect
    .poll(
      async () => {
        stats = await canvasStats(p);
        return stats !== null && stats.width > 100 && stats.nonBlackFraction > 0.05 && stats.levels > 10;
      },
      { timeout },
    )
    .toBe(true);
  return stats!;
}

const reportLink = () => page.attribute('[data-testid="report-link"]', 'data-state');
const reportPending = async () => Number(await page.attribute('[data-testid="report-pending"]', 'data-count'));
const reportText = () => editorText(page.asPlaywrightPage(), reportId);
const OFFLINE_PHRASE = 'Typed on the tablet without a network: no acute findings.';

describe('WebKit (tablet path)', () => {
  it('signs in, sees the worklist, sets the PIN, views and keeps a study offline, types a report offline that survives a reload and reaches the server', async () => {
    await page.goto(system.url);
    await page.fill('Email', RADIOLOGIST.email);
    await page.fill('Password', RADIOLOGIST.password);
    await page.click('Sign in');
    await page.waitFor('nav[aria-label="Main"]', 60_000);
    // What the app relies on for the offline copy, as this engine provides it; the rest is logged
    // (what differs from Safari on iPadOS is in web/README.md).
    const features = await page.evaluate(() => ({
      serviceWorker: 'serviceWorker' in navigator,
      subtle: !!crypto.subtle,
      indexedDB: typeof indexedDB,
      onLine: navigator.onLine,
      locks: 'locks' in navigator,
      storage: 'storage' in navigator,
      persist: typeof navigator.storage?.persist,
      backgroundSync: 'SyncManager' in window,
      offscreenCanvas: typeof OffscreenCanvas,
      webgl2: !!document.createElement('canvas').getContext('webgl2'),
    }));
    console.log(`webkit: features ${JSON.stringify(features)}`);
    expect(features).toMatchObject({ serviceWorker: true, subtle: true, indexedDB: 'object', onLine: true });
    // The worklist from the main navigation (no page load): the device's copy, synced from the server.
    await page.driver.findElement(By.xpath('//nav[@aria-label="Main"]//a[normalize-space(.)="Worklist"]')).click();
    const row = `[data-testid="worklist-row"][data-study-id="${study.id}"]`;
    await page.waitFor(row, 60_000);
    expect(await page.text('[data-testid="worklist-count"]')).toMatch(/^[1-9]\d* of [1-9]\d* studies$/);

    // The offline PIN, the study with a non-blank image, made available offline.
    await page.goto(`${system.url}/account`);
    const form = '//form[@aria-label="Offline PIN"]';
    await page.fill('New PIN', OFFLINE_PIN, form);
    await page.fill('The same PIN again', OFFLINE_PIN, form);
    await page.click('Set the PIN', form);
    await expect.poll(() => page.text('main')).toContain('Offline PIN set on this device.');

    await page.goto(`${system.url}/viewer/${study.id}?source=online`);
    const onlineCanvas = await waitForImage();
    await page.click('Make available offline');
    await expect.poll(() => page.text('[data-testid="offline-state"]'), { timeout: 90_000 }).toContain('Available offline');

    // The report typed offline, kept over an offline reload; the study offline; the text reaches the server.
    await page.goto(`${system.url}/report/${study.id}?images=off`);
    await expect.poll(reportText, { timeout: 60_000 }).toContain('Clinical history');
    await expect.poll(reportLink).toBe('live');
    // The service worker answers the offline reloads: it must control the page first.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) await page.reload();
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    await expect.poll(reportLink).toBe('live');

    await system.network('down');
    await expect.poll(reportLink).not.toBe('live');
    await caretAtSection(page.asPlaywrightPage(), reportId, 'Comparison');
    await page.press('ENTER');
    await page.type(OFFLINE_PHRASE);
    await expect.poll(reportText).toContain(OFFLINE_PHRASE);
    await expect.poll(reportPending).toBeGreaterThan(0);
    await expect.poll(() => page.attribute('[data-testid="report-saved"]', 'data-on-device')).toBe('true');
    const typedOffline = await reportText();

    await page.reload();
    await enterPin();
    await expect.poll(reportText).toBe(typedOffline);
    expect(await reportLink()).not.toBe('live');

    // The study from the device's encrypted copy.
    await page.goto(`${system.url}/viewer/${study.id}`);
    await enterPin();
    expect((await waitForImage()).hash).toBe(onlineCanvas.hash);
    expect(await page.evaluate(() => (window as unknown as { __pacsViewer: { source(): string } }).__pacsViewer.source())).toBe('offline');

    // Back online: the app is opened again and the report's offline change reaches the server.
    await system.network('up');
    await page.goto(`${system.url}/report/${study.id}?images=off`);
    await expect.poll(reportLink, { timeout: 60_000 }).toBe('live');
    await expect.poll(reportPending).toBe(0);
    const server = await apiLogin(system.url, RADIOLOGIST);
    await expect
      .poll(async () => JSON.stringify(await server.call('GET', `/api/reports/${reportId}/authorship`)))
      .toContain(OFFLINE_PHRASE);
  }, 300_000);
});
