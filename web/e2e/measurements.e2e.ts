/**
 * Measurements and key images in Debian's Chromium against the real API, sync-server and Orthanc:
 * a length survives a reload; one drawn offline waits on the device and is sent when the connection
 * returns; "Insert into report" writes its sentence into the Findings with a link that opens the
 * viewer at its image with the measurement shown; a key image is listed beside the report (at the
 * tablet size 1180 × 820, where the toolbar's Key image button must stay reachable).
 *
 * Each test has a study of its own, so none sees another's measurements.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { editorEditable, editorText, shownReportId } from './report-support';
import { apiLogin, RESIDENT, startSystem } from './support';
import {
  ctSpec,
  type DicomStudy,
  dragImage,
  FIRST_IMAGE_TIMEOUT_MS,
  paneState,
  settledMeasurements,
  toolbarButton,
  ViewerDesks,
  type ViewerSystem,
  waitForPaneImage,
} from './viewer-support';

const DESKTOP = { width: 1400, height: 900 };
const TABLET = { width: 1180, height: 820 };

let system: ViewerSystem;
let desks: ViewerDesks;
const studies: DicomStudy[] = [];

beforeAll(async () => {
  system = await startSystem({ orthanc: true, sync: true });
  for (const [i, accession] of ['E2E-MEAS-RELOAD', 'E2E-MEAS-OFFLINE', 'E2E-MEAS-REPORT', 'E2E-MEAS-KEY', 'E2E-MEAS-OTHERS'].entries())
    studies.push(await system.storeStudy(ctSpec(accession, 6), 60 + i));
  desks = new ViewerDesks(system.url);
});

afterEach(async () => {
  await desks?.closeAll();
});

afterAll(async () => {
  await desks?.stop();
  await system?.stop();
});

async function openViewer(page: Page, studyId: string) {
  await page.goto(`${system.url}/viewer/${studyId}`);
  return waitForPaneImage(page, 0, FIRST_IMAGE_TIMEOUT_MS);
}

/** The viewer's measurement list summary, e.g. "Measurements (1)" or "Measurements (1) · 1 waiting to be sent". */
const panelSummary = (page: Page) => page.getByTestId('measurement-panel').locator('summary').textContent();

async function drawLength(page: Page) {
  await page.getByRole('button', { name: 'Length', exact: true }).click();
  await dragImage(page, [60, 60], [60, 160]);
  return (await settledMeasurements(page, 1))[0]!;
}

describe('measurements', () => {
  it('keeps a length: after a reload it is drawn again on its image with its value', async () => {
    const { page } = await desks.open(DESKTOP);
    await openViewer(page, studies[0]!.id);
    const drawn = await drawLength(page);
    // Stored once the outbox is empty.
    await expect.poll(() => panelSummary(page), { timeout: 15_000 }).toBe('Measurements (1)');
    await page.reload();
    await waitForPaneImage(page, 0, FIRST_IMAGE_TIMEOUT_MS);
    const [again] = await settledMeasurements(page, 1);
    expect(again!.tool).toBe('Length');
    expect(again!.stats.length).toBeCloseTo(drawn.stats.length!, 1);
    expect(again!.points[0]![1]).toBeCloseTo(drawn.points[0]![1]!, 1);
  });

  it('a length drawn offline waits on the device and is sent once when the connection returns', async () => {
    const desk = await desks.open(DESKTOP);
    await openViewer(desk.page, studies[1]!.id);
    await desk.context.setOffline(true);
    await drawLength(desk.page);
    await expect.poll(() => panelSummary(desk.page), { timeout: 15_000 }).toContain('1 waiting to be sent');
    await desk.context.setOffline(false);
    await expect.poll(() => panelSummary(desk.page), { timeout: 30_000 }).toBe('Measurements (1)');
    // Another browser sees exactly that one measurement.
    const other = await desks.open(DESKTOP);
    await openViewer(other.page, studies[1]!.id);
    const [seen] = await settledMeasurements(other.page, 1);
    expect(seen!.tool).toBe('Length');
  });

  it('inserts a measurement into the Findings, refuses once signed; its link opens the viewer at that image with it shown', async () => {
    const { page } = await desks.open(DESKTOP);
    const studyId = studies[2]!.id;
    await openViewer(page, studyId);
    await page.getByTestId('viewport').focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    await expect.poll(async () => (await paneState(page))?.index).toBe(3);
    const imageId = (await paneState(page))!.imageId;
    await drawLength(page);
    await expect.poll(() => panelSummary(page), { timeout: 15_000 }).toBe('Measurements (1)');

    await page.goto(`${system.url}/report/${studyId}?images=off`);
    await page.getByRole('button', { name: 'Start report' }).click();
    const reportId = await shownReportId(page);
    await expect.poll(() => editorEditable(page, reportId), { timeout: 15_000 }).toBe(true);
    const item = page.getByTestId('report-measurement');
    await expect.poll(() => item.textContent()).toMatch(/^Length: \d+\.\d mm, series 1 image \d+/);
    await item.getByRole('button', { name: 'Insert into report' }).click();
    await expect.poll(() => editorText(page, reportId)).toMatch(/Findings[\s\S]*Length: \d+\.\d mm, series 1 image \d+/);
    // Into the archive as a DICOM SR, for OHIF and other viewers.
    await page.getByRole('button', { name: 'Store measurements in the archive (DICOM SR)' }).click();
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'stored in the archive' }).textContent())
      .toBe('Measurements stored in the archive (1).');

    // Signed, the report takes no more measurements (an addendum does); its link still leads back.
    await expect.poll(() => page.getByTestId('report-pending').first().getAttribute('data-count')).toBe('0');
    await page.getByRole('button', { name: 'Sign and finalize' }).click();
    await expect.poll(() => page.locator('.final-banner').first().textContent(), { timeout: 15_000 }).toMatch(/^Final — signed by/);
    await expect.poll(() => item.getByRole('button', { name: 'Insert into report' }).isDisabled()).toBe(true);
    expect(await page.locator('.report-measurements').textContent()).toContain('This report is signed: add an addendum');

    await page.locator('.report-editor a.measurement-link').first().click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/viewer/${studyId}`);
    await waitForPaneImage(page, 0, FIRST_IMAGE_TIMEOUT_MS);
    await expect.poll(async () => (await paneState(page))?.imageId).toBe(imageId);
    const [shown] = await settledMeasurements(page, 1);
    expect(shown!.tool).toBe('Length');
  });

  it('flags a key image at tablet size; the report lists it', async () => {
    const { page } = await desks.open(TABLET);
    const studyId = studies[3]!.id;
    await openViewer(page, studyId);
    await page.getByTestId('viewport').focus();
    await page.keyboard.press('ArrowDown');
    await expect.poll(async () => (await paneState(page))?.index).toBe(1);
    const key = page.getByRole('button', { name: 'Key image' });
    // Reachable on the tablet: inside the window, not under another control.
    const box = (await key.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(TABLET.width);
    expect(box.y + box.height).toBeLessThanOrEqual(TABLET.height);
    await key.click();
    await expect.poll(() => key.getAttribute('aria-pressed'), { timeout: 15_000 }).toBe('true');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => key.getAttribute('aria-pressed')).toBe('false');

    await page.goto(`${system.url}/report/${studyId}?images=off`);
    await page.getByRole('button', { name: 'Start report' }).click();
    await expect
      .poll(() => page.getByTestId('report-key-image').allTextContents(), { timeout: 15_000 })
      .toEqual([expect.stringMatching(/^Series 1 image \d+ · flagged by Demo Radiologist$/)]);
  });

  it("shows the resident's measurement to the attending, marked as theirs and locked", async () => {
    const { page } = await desks.open(DESKTOP);
    const studyId = studies[4]!.id;
    const first = await openViewer(page, studyId);
    const [, seriesUid, sopUid] = /\/series\/([0-9.]+)\/instances\/([0-9.]+)\/frames\/1$/.exec(first.imageId)!;
    const resident = await apiLogin(system.url, RESIDENT);
    const points = [
      [50.5, 50.5],
      [50.5, 150.5],
    ];
    await resident.call('POST', `/api/studies/${studyId}/measurements`, {
      id: crypto.randomUUID(),
      tool: 'Length',
      seriesInstanceUid: seriesUid,
      sopInstanceUid: sopUid,
      frame: 1,
      label: 'Effusion',
      points,
      values: { length: 148.4 },
      units: { length: 'mm' },
    });
    await page.reload();
    await waitForPaneImage(page, 0, FIRST_IMAGE_TIMEOUT_MS);
    const [shown] = await settledMeasurements(page, 1);
    expect(shown!.points[0]![1]).toBeCloseTo(50.5, 1);
    const item = page.getByTestId('measurement-item');
    await expect.poll(() => item.getAttribute('data-mine')).toBe('false');
    expect(await item.textContent()).toMatch(/^Effusion .* by Demo Resident \(resident\), read-only$/);
    expect(await item.getByRole('button', { name: /Delete/ }).count()).toBe(0);
    // Dragging its end moves nothing: it is locked for everyone but its author.
    await page.getByRole('button', { name: 'Length', exact: true }).click();
    await dragImage(page, [50.5, 150.5], [90, 150.5]);
    const after = (await paneState(page))!.measurements.find((m) => m.points[0]![1]! > 50 && m.points[0]![1]! < 51);
    expect(after!.points[1]![0]).toBeCloseTo(50.5, 1);
    // Clearing the viewport removes only the attending's own.
    await (await toolbarButton(page, 'Clear measurements')).click();
    await expect.poll(async () => (await paneState(page))?.measurements.map((m) => m.points[1]![0])).toEqual([expect.closeTo(50.5, 1)]);
  });
});
