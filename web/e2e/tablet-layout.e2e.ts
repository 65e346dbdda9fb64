/**
 * Reading on a tablet held sideways (1180 × 820, an iPad in landscape) and on a larger one
 * (1366 × 1024): the header is one row, the viewer's toolbar one row, the image fills the height
 * that is left, and the worklist shows the whole study date. Measured in Debian's Chromium on a
 * generated CT stored in a real Orthanc.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ctSpec, type DicomStudy, startViewerSystem, toolbarButton, ViewerDesks, type ViewerSystem, waitForImage } from './viewer-support';

const SCREENS = [
  { width: 1180, height: 820 },
  { width: 1366, height: 1024 },
] as const;

let system: ViewerSystem;
let desks: ViewerDesks;
let ct: DicomStudy;

beforeAll(async () => {
  system = await startViewerSystem();
  ct = await system.storeStudy(ctSpec('E2E-TABLET-1', 6), 31);
});

afterEach(async () => {
  await desks?.closeAll();
});

afterAll(async () => {
  await desks?.stop();
  await system?.stop();
});

interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
  height: number;
}

/** Bounding boxes of the elements a selector finds, in page pixels. */
const boxes = (page: Page, selector: string): Promise<Box[]> =>
  page.$$eval(selector, (elements) =>
    elements.map((e) => {
      const r = e.getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height };
    }),
  );

/** How many rows of layout a container's visible children occupy: children whose vertical extents overlap share a row. */
async function rowsOf(page: Page, selector: string): Promise<number> {
  const spans = await page.$$eval(`${selector} > *`, (children) =>
    children
      .map((c) => c.getBoundingClientRect())
      .filter((r) => r.width > 1 && r.height > 1)
      .map((r) => ({ top: r.top, bottom: r.bottom })),
  );
  const rows: { top: number; bottom: number }[] = [];
  for (const s of spans.sort((a, b) => a.top - b.top)) {
    const row = rows.find((r) => s.top < r.bottom - 1 && s.bottom > r.top + 1);
    if (row) row.bottom = Math.max(row.bottom, s.bottom);
    else rows.push({ ...s });
  }
  return rows.length;
}

describe.each(SCREENS)('a tablet at $width × $height', (screen) => {
  it('shows the header in one row, the toolbar in one row, and the image down to the bottom of the screen', async () => {
    desks ??= new ViewerDesks(system.url);
    const { page } = await desks.open(screen);
    await page.goto(`${system.url}/viewer/${ct.id}?source=online`);
    await waitForImage(page, 60_000);
    expect(await rowsOf(page, 'header.topbar'), 'header rows').toBe(1);
    const [name] = await boxes(page, 'header.topbar .user-name');
    const [signOut] = await boxes(page, 'header.topbar .user button');
    expect(Math.abs(name!.top + name!.height / 2 - (signOut!.top + signOut!.height / 2)), 'name and Sign out on one line').toBeLessThan(4);
    expect(await rowsOf(page, '.viewer-toolbar'), 'toolbar rows').toBe(1);
    const [canvas] = await boxes(page, '.viewer-stage canvas');
    const [toolbar] = await boxes(page, '.viewer-toolbar');
    expect(canvas!.bottom, 'the image reaches the bottom of the screen').toBeGreaterThanOrEqual(screen.height - 48);
    expect(canvas!.bottom, 'and is not cut off below it').toBeLessThanOrEqual(screen.height + 1);
    expect(canvas!.top).toBeGreaterThanOrEqual(toolbar!.bottom - 1);
    // Every tool still says what it is: a label on screen or in its tooltip and accessible name.
    const unnamed = await page.$$eval(
      '.viewer-toolbar button',
      (buttons) => buttons.filter((b) => !(b.getAttribute('aria-label') || b.textContent?.trim()) || !b.getAttribute('title')).length,
    );
    expect(unnamed).toBe(0);
    // The occasional tools are one tap away under "More", which closes once one is used.
    await (await toolbarButton(page, 'Invert')).click();
    await expect.poll(() => page.locator('.viewer-more-popover').count()).toBe(0);
    expect(await (await toolbarButton(page, 'Invert')).getAttribute('aria-pressed')).toBe('true');
  });

  it('shows the whole study date in the worklist', async () => {
    desks ??= new ViewerDesks(system.url);
    const { page } = await desks.open(screen);
    await page.goto(`${system.url}/worklist`);
    const cell = page.locator('td.col-date').filter({ hasText: /\d/ }).first();
    await cell.waitFor({ timeout: 30_000 });
    expect(await cell.textContent()).toMatch(/\d{4}-\d{2}-\d{2}/);
    const clipped = await cell.evaluate((e) => e.scrollWidth > e.clientWidth + 1);
    expect(clipped, 'the date is not truncated').toBe(false);
    expect(await rowsOf(page, 'header.topbar'), 'header rows').toBe(1);
  });
});
