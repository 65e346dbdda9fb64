/**
 * The viewer's tools in Debian's Chromium on generated studies stored in a real
 * Orthanc: ellipse ROI mean/SD in HU on regions of known value, an angle of known size, invert,
 * rotate/flip, presets, shortcut help, cine on a multi-frame US, series thumbnails, two viewports with
 * a prior and linked scrolling, touch (one finger, pinch, two-finger pan) and decoding in web workers.
 *
 * The synthetic CT (the test kit's demo studies, chest phantom, 256×256) has air of −1000 ± 5 HU outside
 * the body and a heart of 40 ± 10 HU (centre ≈ (136.6, 129.5), radii 21.5 × 23 pixels) on every slice.
 *
 * The studies are stored once for the file (read-only inputs); each test signs in in a browser context of
 * its own and opens what it needs (the offline setting in a fresh Chromium profile).
 */
import type { StudySpec } from '@pacs/test-kit/demo-studies';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiLogin, RADIOLOGIST, seriousViolations } from './support';
import {
  type DicomStudy,
  dragImage,
  FIRST_IMAGE_TIMEOUT_MS,
  paneCanvasPixel,
  paneCanvasStats,
  paneImageToPage,
  paneState,
  settledMeasurements,
  startViewerSystem,
  ViewerDesks,
  type ViewerSystem,
  waitForPaneImage,
} from './viewer-support';

const PATIENT: StudySpec['patient'] = { name: 'Tools^Test', id: 'PID-E2E-TOOLS', birthDate: '19650301', sex: 'M' };

function chestCt(accession: string, studyDate: string, instances: number): StudySpec {
  return {
    patient: PATIENT,
    studyDate,
    studyTime: '090000',
    accessionNumber: accession,
    description: 'CT CHEST',
    priority: 'ROUTINE',
    series: [{ modality: 'CT', description: 'Axial chest', instances, bodyPart: 'CHEST' }],
  };
}

/** A desktop screen: every tool on the toolbar itself (tablet widths move some under "More", tablet-layout.e2e.ts). */
const SCREEN = { width: 1600, height: 900 };

let system: ViewerSystem;
let desks: ViewerDesks;
let current: DicomStudy;
let prior: DicomStudy;
let us: DicomStudy;

beforeAll(async () => {
  system = await startViewerSystem();
  current = await system.storeStudy(chestCt('E2E-TOOLS-NOW', '20261101', 12), 21);
  prior = await system.storeStudy(chestCt('E2E-TOOLS-PRIOR', '20250601', 10), 22);
  us = await system.storeStudy(
    {
      patient: { name: 'Cine^Test', id: 'PID-E2E-CINE', birthDate: '19800101', sex: 'F' },
      studyDate: '20261102',
      studyTime: '100000',
      accessionNumber: 'E2E-TOOLS-US',
      description: 'ECHO',
      priority: 'ROUTINE',
      series: [{ modality: 'US', description: 'Cardiac cine', instances: 1, frames: 12 }],
    },
    23,
  );
  desks = new ViewerDesks(system.url);
});

afterEach(async () => {
  await desks?.closeAll();
  // Measurements are kept per study and user: one test's must not be drawn again in the next.
  const radiologist = await apiLogin(system.url, RADIOLOGIST);
  for (const study of [current, prior, us]) {
    if (!study) continue;
    const { items } = await radiologist.call<{ items: { id: string; mine: boolean }[] }>('GET', `/api/studies/${study.id}/measurements`);
    for (const m of items.filter((item) => item.mine)) {
      const deleted = await fetch(`${system.url}/api/studies/${study.id}/measurements/${m.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${radiologist.accessToken}` },
      });
      expect(deleted.ok, `delete measurement: ${deleted.status}`).toBe(true);
    }
  }
});

afterAll(async () => {
  await desks?.stop();
  await system?.stop();
});

/** A signed-in page of this test's own showing the current CT (from the archive), its first image drawn. */
async function openCurrent(): Promise<Page> {
  const { page } = await desks.open(SCREEN);
  await page.goto(`${system.url}/viewer/${current.id}?source=online`);
  await waitForPaneImage(page, 0, FIRST_IMAGE_TIMEOUT_MS);
  return page;
}

/** The current CT in the first viewport and the prior, opened with Compare, in the second. */
async function openCurrentBesidePrior(): Promise<Page> {
  const page = await openCurrent();
  const priors = page.getByRole('list', { name: 'Earlier studies of this patient' });
  await expect.poll(() => priors.textContent(), { timeout: 20_000 }).toContain('2025-06-01');
  await priors.getByRole('button', { name: 'Compare' }).click();
  expect((await waitForPaneImage(page, 1)).imageId).toContain(prior.studyInstanceUid);
  return page;
}

async function viewportCentre(page: Page, pane = 0) {
  const box = (await page.getByTestId(pane === 0 ? 'viewport' : `viewport-${pane + 1}`).boundingBox())!;
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** The whole image is visible in viewport `pane` and fills most of its smaller side (fitted, not cropped). */
async function expectImageInside(page: Page, pane: number) {
  const box = (await page.getByTestId(pane === 0 ? 'viewport' : `viewport-${pane + 1}`).boundingBox())!;
  await expect
    .poll(async () => {
      const corners = await Promise.all(
        [
          [0, 0],
          [256, 256],
          [0, 256],
          [256, 0],
        ].map(([x, y]) => paneImageToPage(page, x!, y!, pane)),
      );
      const xs = corners.map((c) => c!.x);
      const ys = corners.map((c) => c!.y);
      const inside =
        Math.min(...xs) >= box.x - 1 &&
        Math.max(...xs) <= box.x + box.width + 1 &&
        Math.min(...ys) >= box.y - 1 &&
        Math.max(...ys) <= box.y + box.height + 1;
      const size = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
      return inside && size > 0.9 * Math.min(box.width, box.height);
    })
    .toBe(true);
}

describe('viewer tools on a CT', () => {
  it('opens the study with decoding in web workers and the configured cache budget', async () => {
    const { page } = await desks.open(SCREEN);
    await page.goto(`${system.url}/viewer/${current.id}?source=online`);
    const state = await waitForPaneImage(page, 0, FIRST_IMAGE_TIMEOUT_MS);
    expect(state.count).toBe(12);
    // The DICOM image loader decodes in dedicated workers, not on the main thread.
    await expect.poll(() => page.workers().some((w) => /decodeImageFrameWorker/.test(w.url()))).toBe(true);
    const budget = await page.evaluate(
      () => (window as unknown as { __pacsViewer: { cache(): { maxBytes: number } } }).__pacsViewer.cache().maxBytes,
    );
    expect(budget).toBe(384 * 1024 * 1024);
  });

  it('measures mean and SD in HU with the ellipse ROI on regions of known value', async () => {
    const page = await openCurrent();
    await page.getByRole('button', { name: 'Ellipse ROI' }).click();
    // Drawn from the centre outwards: radius 8 pixels inside the heart (40 ± 10 HU)…
    await dragImage(page, [136, 130], [144, 138]);
    // …and radius 10 pixels in the air outside the body (−1000 ± 5 HU).
    await dragImage(page, [30, 30], [40, 40]);
    const [heart, air] = await settledMeasurements(page, 2);
    expect(heart!.tool).toBe('EllipticalROI');
    expect(heart!.stats.modalityUnit).toBe('HU');
    // ~200 pixels of σ = 10 HU noise: the mean is within ±3 HU of 40 (> 4 standard errors).
    expect(heart!.stats.mean!).toBeGreaterThan(37);
    expect(heart!.stats.mean!).toBeLessThan(43);
    expect(heart!.stats.stdDev!).toBeGreaterThan(7.5);
    expect(heart!.stats.stdDev!).toBeLessThan(12.5);
    expect(heart!.text).toMatch(/Mean: -?\d+(\.\d+)? HU/);
    expect(air!.stats.mean!).toBeGreaterThan(-1002);
    expect(air!.stats.mean!).toBeLessThan(-998);
    expect(air!.stats.stdDev!).toBeGreaterThan(3.5);
    expect(air!.stats.stdDev!).toBeLessThan(6.5);
    // area of a circle of radius 8 pixels at 1.484 mm/pixel ≈ 442 mm² (one pixel of snapping either way)
    const spacing = 380 / 256;
    expect(heart!.stats.area!).toBeGreaterThan(Math.PI * (7 * spacing) ** 2);
    expect(heart!.stats.area!).toBeLessThan(Math.PI * (9 * spacing) ** 2);
    await page.getByRole('button', { name: 'Clear measurements' }).click();
    await expect.poll(async () => (await paneState(page))?.measurements.length).toBe(0);
  });

  it('measures an angle of known size (45°)', async () => {
    const page = await openCurrent();
    await page.getByTestId('viewport').focus();
    await page.keyboard.press('a'); // the Angle tool's shortcut
    await expect.poll(() => page.getByRole('button', { name: 'Angle' }).getAttribute('aria-pressed')).toBe('true');
    // first arm: drag from A to the vertex B; second arm: move to C and click
    await dragImage(page, [60, 60], [60, 160]);
    const c = (await paneImageToPage(page, 160, 60))!;
    await page.mouse.move(c.x, c.y, { steps: 10 });
    await page.mouse.down();
    await page.mouse.up();
    const [angle] = await settledMeasurements(page, 1);
    expect(angle!.tool).toBe('Angle');
    expect(angle!.points).toHaveLength(3);
    expect(Math.abs(angle!.stats.angle! - 45)).toBeLessThan(1);
    expect(angle!.text).toMatch(/4[456](\.\d+)?\s*°/);
    await page.getByRole('button', { name: 'Clear measurements' }).click();
    await expect.poll(async () => (await paneState(page))?.measurements.length).toBe(0);
  });

  it('inverts, rotates and flips the rendered image, and resets', async () => {
    const page = await openCurrent();
    await page.getByRole('button', { name: 'W/L' }).click();
    await page.getByTestId('viewport').focus();
    await page.keyboard.press('4'); // abdomen window 400/40: air is black
    await expect.poll(async () => (await paneState(page))?.voi).toEqual({ lower: -160, upper: 240 });
    await expect.poll(() => paneCanvasPixel(page, 20, 20)).toBeLessThan(10);
    await page.getByRole('button', { name: 'Invert' }).click();
    await expect.poll(() => paneCanvasPixel(page, 20, 20)).toBeGreaterThan(245);
    expect((await paneState(page))!.invert).toBe(true);
    await page.getByRole('button', { name: 'Invert' }).click();
    await expect.poll(() => paneCanvasPixel(page, 20, 20)).toBeLessThan(10);

    // A point on the left of the image (its right side: radiological convention) moves to the top on rotation.
    const centre = await viewportCentre(page);
    const before = (await paneImageToPage(page, 40, 128))!;
    expect(before.x).toBeLessThan(centre.x - 50);
    const hashBefore = (await paneCanvasStats(page))!.hash;
    await page.keyboard.press('t');
    await expect.poll(async () => (await paneState(page))?.rotation).toBe(90);
    const rotated = (await paneImageToPage(page, 40, 128))!;
    expect(rotated.y).toBeLessThan(centre.y - 50);
    expect(Math.abs(rotated.x - centre.x)).toBeLessThan(5);
    await expect.poll(async () => (await paneCanvasStats(page))!.hash).not.toBe(hashBefore);
    // what is drawn at that point is still the same image pixel
    await expect.poll(() => paneCanvasPixel(page, 40, 128)).toBeGreaterThan(40);

    await page.getByRole('button', { name: 'Reset' }).click();
    await expect.poll(async () => (await paneState(page))?.rotation).toBe(0);
    await page.getByRole('button', { name: 'Flip H' }).click();
    await expect.poll(async () => (await paneState(page))?.flipHorizontal).toBe(true);
    expect((await paneImageToPage(page, 40, 128))!.x).toBeGreaterThan(centre.x + 50);
    await page.keyboard.press('v');
    await expect.poll(async () => (await paneState(page))?.flipVertical).toBe(true);
    expect((await paneImageToPage(page, 128, 40))!.y).toBeGreaterThan(centre.y + 50);
    await expect.poll(() => page.getByTestId('overlay-voi').textContent()).toContain('flip H · flip V');

    await page.keyboard.press('r');
    await expect
      .poll(async () => {
        const s = (await paneState(page))!;
        return { rotation: s.rotation, flipHorizontal: s.flipHorizontal, flipVertical: s.flipVertical, invert: s.invert };
      })
      .toEqual({ rotation: 0, flipHorizontal: false, flipVertical: false, invert: false });
    expect(Math.abs((await paneImageToPage(page, 40, 128))!.y - centre.y)).toBeLessThan(5);
  });

  it('documents the shortcuts in a help popover and in the buttons', async () => {
    const page = await openCurrent();
    expect(await page.getByRole('button', { name: 'Rotate' }).getAttribute('title')).toContain('(T)');
    expect(await page.getByRole('button', { name: 'Ellipse ROI' }).getAttribute('aria-keyshortcuts')).toBe('E');
    await page.getByTestId('viewport').focus();
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Viewer shortcuts' });
    await expect.poll(() => help.isVisible()).toBe(true);
    const text = (await help.textContent()) ?? '';
    for (const item of ['Ellipse ROI', 'Angle', 'rotate 90°', 'cine', 'pinch']) expect(text).toContain(item);
    await help.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => help.count()).toBe(0);
  });

  it('shows the slice position and the W/L in the overlay', async () => {
    const page = await openCurrent();
    await page.getByTestId('viewport').focus();
    await page.keyboard.press('Home');
    // 12 slices of 5 mm centred on 0, head first: the first is at +27.5 mm
    await expect.poll(() => page.getByTestId('overlay-image').textContent()).toContain('Loc 27.5 mm');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.getByTestId('overlay-image').textContent()).toContain('Loc 22.5 mm');
    expect(await page.getByTestId('overlay-voi').textContent()).toMatch(/W \d+ L -?\d+/);
  });

  it('renders a thumbnail per series', async () => {
    const page = await openCurrent();
    const thumbnail = page.getByRole('navigation', { name: 'Series' }).locator('.viewer-thumb').first();
    await expect.poll(() => thumbnail.getAttribute('data-state'), { timeout: 20_000 }).toBe('shown');
    const nonBlack = await thumbnail.locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
      const ctx = canvas.getContext('2d');
      if (!ctx) return 0;
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i]! > 8) n++;
      return n / (data.length / 4);
    });
    expect(nonBlack).toBeGreaterThan(0.05);
    expect(await page.getByRole('navigation', { name: 'Series' }).textContent()).toContain('12 images');
  });
});

describe('two viewports and priors', () => {
  it('lists the earlier study of the patient and opens it beside the current one, each with its own W/L', async () => {
    const page = await openCurrent();
    const priors = page.getByRole('list', { name: 'Earlier studies of this patient' });
    await expect.poll(() => priors.textContent(), { timeout: 20_000 }).toContain('2025-06-01');
    expect(await priors.getByRole('listitem').count()).toBe(1);
    await page.getByTestId('viewport').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('2'); // lung window on the current study
    await expect.poll(async () => (await paneState(page, 0))?.voi).toEqual({ lower: -1350, upper: 150 });

    await priors.getByRole('button', { name: 'Compare' }).click();
    const second = await waitForPaneImage(page, 1);
    expect(second.count).toBe(10);
    expect(second.imageId).toContain(prior.studyInstanceUid);
    // The prior's report shows beside its images; this prior was never reported.
    await expect.poll(() => page.getByTestId('prior-report').textContent()).toContain('No report was written for this study.');
    expect(await page.getByTestId('pane-2').locator('.viewer-overlay').textContent()).toContain('2025-06-01');
    expect(await page.getByTestId('pane').locator('.viewer-overlay').textContent()).toContain('2026-11-01');
    // The second viewport is active: a preset changes only its window.
    await page.getByTestId('viewport-2').focus();
    await page.keyboard.press('3'); // bone
    await expect.poll(async () => (await paneState(page, 1))?.voi).toEqual({ lower: -770, upper: 1730 });
    expect((await paneState(page, 0))!.voi).toEqual({ lower: -1350, upper: 150 });
    expect((await paneCanvasStats(page, 1))!.nonBlackFraction).toBeGreaterThan(0.02);
    // both images are fitted to their (now narrower) boxes, not cropped
    for (const pane of [0, 1]) await expectImageInside(page, pane);
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('links scrolling between the two series of the same orientation, keeping their offset', async () => {
    const page = await openCurrentBesidePrior();
    await page.getByTestId('viewport-2').focus();
    await page.keyboard.press('Home');
    await expect.poll(async () => (await paneState(page, 1))?.index).toBe(0);
    // current: +27.5 … −27.5 mm; prior: +22.5 … −22.5 mm; linked at their first slices (offset −5 mm)
    await page.getByRole('button', { name: 'Link scroll' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Link scroll' }).getAttribute('aria-pressed')).toBe('true');
    await page.getByTestId('viewport').focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    await expect.poll(async () => (await paneState(page, 0))?.index).toBe(3);
    await expect.poll(async () => (await paneState(page, 1))?.index).toBe(3);
    // the prior leads too: its last slice (−22.5 mm) takes the current study to −17.5 mm (index 9)
    await page.getByTestId('viewport-2').focus();
    await page.keyboard.press('End');
    await expect.poll(async () => (await paneState(page, 1))?.index).toBe(9);
    await expect.poll(async () => (await paneState(page, 0))?.index).toBe(9);
    // unlinked, they scroll alone
    await page.getByRole('button', { name: 'Link scroll' }).click();
    await page.getByTestId('viewport-2').focus();
    await page.keyboard.press('Home');
    await expect.poll(async () => (await paneState(page, 1))?.index).toBe(0);
    expect((await paneState(page, 0))!.index).toBe(9);
  });

  it('goes back to one viewport, keeping the rotation and flip of the first, fitted to its wider box', async () => {
    const page = await openCurrentBesidePrior();
    await page.getByTestId('viewport').focus();
    await page.keyboard.press('t');
    await page.keyboard.press('h');
    await expect.poll(async () => (await paneState(page, 0))?.flipHorizontal).toBe(true);
    const before = (await paneState(page, 0))!;
    const side = async () => {
      const centre = await viewportCentre(page, 0);
      const p = (await paneImageToPage(page, 40, 128, 0))!;
      return [Math.sign(Math.round((p.x - centre.x) / 20)) || 0, Math.sign(Math.round((p.y - centre.y) / 20)) || 0]; // -0 → 0
    };
    const sideBefore = await side();
    await page.getByRole('button', { name: 'Two viewports' }).click();
    await expect.poll(() => page.getByTestId('viewport-2').count()).toBe(0);
    expect((await paneState(page, 0))!.count).toBe(12);
    await expectImageInside(page, 0);
    const after = (await paneState(page, 0))!;
    expect({ rotation: after.rotation, flipHorizontal: after.flipHorizontal }).toEqual({
      rotation: before.rotation,
      flipHorizontal: true,
    });
    expect(await side()).toEqual(sideBefore);
    await page.keyboard.press('r');
    await expect.poll(async () => (await paneState(page, 0))?.flipHorizontal).toBe(false);
  });
});

describe('touch', () => {
  it('one finger uses the tool, two fingers pinch-zoom and pan, and the page itself does not zoom', async () => {
    const { context, page } = await desks.open(SCREEN);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
    try {
      // a fresh page load with touch emulation on, as a tablet would start
      await page.goto(`${system.url}/viewer/${current.id}?source=online`);
      await waitForPaneImage(page, 0, FIRST_IMAGE_TIMEOUT_MS);
      await page.getByRole('button', { name: 'W/L' }).click();
      expect(await page.getByTestId('viewport').evaluate((el) => getComputedStyle(el).touchAction)).toBe('none');
      const { x, y } = await viewportCentre(page);
      const touch = async (type: 'touchStart' | 'touchMove' | 'touchEnd', points: { x: number; y: number }[]) =>
        cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map((p, id) => ({ x: p.x, y: p.y, id })) });

      // one finger: window/level
      const voiBefore = (await paneState(page))!.voi!;
      await touch('touchStart', [{ x, y }]);
      for (let i = 1; i <= 8; i++) await touch('touchMove', [{ x: x + i * 10, y: y + i * 5 }]);
      await touch('touchEnd', []);
      await expect
        .poll(async () => (await paneState(page))!.voi!.upper - (await paneState(page))!.voi!.lower)
        .not.toBe(voiBefore.upper - voiBefore.lower);

      // two fingers moving apart: zoom in
      const zoomBefore = (await paneState(page))!.zoom;
      await touch('touchStart', [
        { x: x - 40, y },
        { x: x + 40, y },
      ]);
      for (let i = 1; i <= 10; i++)
        await touch('touchMove', [
          { x: x - 40 - i * 12, y },
          { x: x + 40 + i * 12, y },
        ]);
      await touch('touchEnd', []);
      await expect.poll(async () => (await paneState(page))!.zoom).toBeGreaterThan(zoomBefore * 1.3);

      // two fingers moving together: pan
      const panBefore = (await paneState(page))!.pan;
      await touch('touchStart', [
        { x: x - 40, y },
        { x: x + 40, y },
      ]);
      for (let i = 1; i <= 10; i++)
        await touch('touchMove', [
          { x: x - 40 + i * 6, y: y + i * 4 },
          { x: x + 40 + i * 6, y: y + i * 4 },
        ]);
      await touch('touchEnd', []);
      await expect
        .poll(async () => {
          const pan = (await paneState(page))!.pan;
          return Math.hypot(pan[0]! - panBefore[0]!, pan[1]! - panBefore[1]!);
        })
        .toBeGreaterThan(20);

      // the page itself never zoomed
      expect(await page.evaluate(() => window.visualViewport?.scale ?? 1)).toBe(1);
    } finally {
      await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: false });
      await cdp.detach();
    }
  });
});

describe('a tablet held upright', () => {
  it('puts the series above the image, which gets the full width, and the page does not scroll', async () => {
    const { page } = await desks.open({ width: 820, height: 1180 });
    await page.goto(`${system.url}/viewer/${current.id}?source=online`);
    await waitForPaneImage(page, 0, FIRST_IMAGE_TIMEOUT_MS);
    const viewport = (await page.getByTestId('viewport').boundingBox())!;
    const series = (await page.getByRole('navigation', { name: 'Series' }).boundingBox())!;
    expect(viewport.width).toBeGreaterThan(820 * 0.9);
    expect(series.y + series.height).toBeLessThanOrEqual(viewport.y);
    expect(viewport.height).toBeGreaterThan(500);
    expect(viewport.y + viewport.height).toBeLessThanOrEqual(1180);
    expect(await page.evaluate(() => document.scrollingElement!.scrollHeight <= window.innerHeight)).toBe(true);
  });
});

describe('cine', () => {
  it('plays a multi-frame US loop and stops', async () => {
    const { page } = await desks.open(SCREEN);
    await page.goto(`${system.url}/viewer/${us.id}?source=online`);
    const state = await waitForPaneImage(page, 0, FIRST_IMAGE_TIMEOUT_MS);
    expect(state.count).toBe(12);
    expect(await page.getByRole('navigation', { name: 'Series' }).textContent()).toContain('1 image · 12 frames');
    expect(await page.getByTestId('overlay-image').textContent()).toContain('frame 1');
    await page.getByRole('button', { name: 'Play cine' }).click();
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          seen.add((await paneState(page))!.index);
          return seen.size;
        },
        { timeout: 10_000 },
      ) // the first pass also loads and decodes each frame
      .toBeGreaterThanOrEqual(4);
    expect(await page.getByTestId('overlay-image').textContent()).toContain('cine');
    await page.getByRole('button', { name: 'Stop cine' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Play cine' }).getAttribute('aria-pressed')).toBe('false');
    // A frame already being loaded when Stop was pressed may still land; after that the index stays put
    // for 30 animation frames (~0.5 s, where the loop would have advanced ~15 frames at 30 fps).
    const animationFrames = (n: number) =>
      page.evaluate(
        (count) =>
          new Promise<void>((resolve) => {
            let seenFrames = 0;
            const tick = () => (++seenFrames >= count ? resolve() : requestAnimationFrame(tick));
            requestAnimationFrame(tick);
          }),
        n,
      );
    await animationFrames(5);
    const stoppedAt = (await paneState(page))!.index;
    await animationFrames(30);
    expect((await paneState(page))!.index).toBe(stoppedAt);
  });
});

describe('keep my assigned studies offline', () => {
  it('downloads a study once it is assigned to me, when the setting is on', async () => {
    // a fresh profile: nothing offline yet, the setting off, and the download gone with the test
    const { page } = await desks.openProfile(SCREEN);
    const radiologist = await apiLogin(system.url, RADIOLOGIST);
    const { study } = await radiologist.call<{ study: { version: number } }>('GET', `/api/studies/${us.id}`);
    await radiologist.call('PATCH', `/api/studies/${us.id}`, { assigneeId: radiologist.userId, version: study.version });
    await page.goto(`${system.url}/viewer`);
    const setting = page.getByRole('checkbox', { name: 'Keep my assigned studies offline' });
    expect(await setting.isChecked()).toBe(false);
    expect(await seriousViolations(page)).toEqual([]);
    await setting.check();
    // the worklist syncs the assignment (delta feed), then the study downloads in the background
    await expect
      .poll(() => page.getByTestId('keep-assigned-status').textContent(), { timeout: 30_000 })
      .toContain('1 assigned study downloaded');
    await expect.poll(() => page.getByRole('main').textContent()).toContain('available offline');
    // the setting is remembered on this device
    await page.reload();
    expect(await page.getByRole('checkbox', { name: 'Keep my assigned studies offline' }).isChecked()).toBe(true);
  });
});
