/**
 * The viewer in Debian's Chromium: a generated CT study stored in a real Orthanc, ingested
 * by the API, streamed through /dicom-web with the user's token; stack scroll, W/L, a length of known
 * size, a non-blank canvas; then "Make available offline", offline reload, same pixels from IndexedDB.
 * Non-square pixels: a CT with PixelSpacing 0.5\1.0 (rows 0.5 mm apart, columns 1.0 mm) is drawn
 * twice as wide as high, and a horizontal and a vertical length of known size measure right. Offline
 * download of a study stored in Explicit VR Big Endian (which Orthanc cannot send as stored) and of a
 * palette colour image whose tables the metadata links as bulk data. A frame
 * that never arrives ends in the viewport message after the load timeout.
 *
 * The studies are stored once for the file (read-only inputs); each test signs in in a browser context of
 * its own, the offline ones in a fresh Chromium profile, so none depends on what another left behind.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { colourBmp, orthancFetch, studyInstanceUid, uploadInstance } from './corpus';
import { enterOfflinePin, setOfflinePin } from './support';
import {
  CT_PIXEL_SPACING_MM,
  canvasStats,
  ctSpec,
  type DicomStudy,
  dragImage,
  FIRST_IMAGE_TIMEOUT_MS,
  paneImageToPage,
  paneState,
  scalarHash,
  settledMeasurements,
  startViewerSystem,
  toolbarButton,
  ViewerDesks,
  type ViewerSystem,
  viewerState,
  waitForImage,
} from './viewer-support';

let system: ViewerSystem;
let desks: ViewerDesks;
let ct: DicomStudy;
let nonSquare: DicomStudy;
/** PixelSpacing (0028,0030) of the non-square CT: [row spacing (vertical), column spacing (horizontal)] in mm. */
const NON_SQUARE: [number, number] = [0.5, 1.0];
const SCREEN = { width: 1180, height: 820 };

beforeAll(async () => {
  system = await startViewerSystem();
  ct = await system.storeStudy(ctSpec('E2E-VIEW-1', 12), 11);
  const spec = ctSpec('E2E-VIEW-NSQ', 1);
  nonSquare = await system.storeStudy({ ...spec, series: [{ ...spec.series[0]!, pixelSpacing: NON_SQUARE }] }, 12);
  desks = new ViewerDesks(system.url);
});

afterEach(async () => {
  await desks?.closeAll();
});

afterAll(async () => {
  await desks?.stop();
  await system?.stop();
});

/** A signed-in page of this test's own showing the study (from the archive), its first image drawn. */
async function openStudy(id: string): Promise<{ page: Page; context: BrowserContext }> {
  const desk = await desks.open(SCREEN);
  await desk.page.goto(`${system.url}/viewer/${id}?source=online`);
  await waitForImage(desk.page, FIRST_IMAGE_TIMEOUT_MS);
  return desk;
}

/**
 * Back on the app after an offline round trip, still signed in: a refresh lost while the network was
 * off is forgiven by the API's reuse grace, so ending signed out here would be a session bug.
 */
async function expectStillSignedIn(page: Page): Promise<void> {
  await page.goto(system.url);
  const state = await page
    .waitForFunction(() =>
      document.querySelector('nav[aria-label="Main"]') ? 'in' : document.querySelector('input[type="password"]') ? 'out' : false,
    )
    .then((h) => h.jsonValue());
  expect(state).toBe('in');
}

describe('viewer', () => {
  it('opens a CT study through /dicom-web: series panel, overlay, a non-blank image', async () => {
    const { page } = await desks.open(SCREEN);
    await page.goto(`${system.url}/viewer/${ct.id}?source=online`);
    const state = await waitForImage(page, FIRST_IMAGE_TIMEOUT_MS);
    expect(state.count).toBe(12);
    expect(state.index).toBe(0);
    expect(state.dimensions?.slice(0, 2)).toEqual([256, 256]);
    await expect.poll(() => page.getByRole('navigation', { name: 'Series' }).textContent()).toContain('12 images');
    expect(await page.getByTestId('overlay-image').textContent()).toContain('Im 1/12');
    expect(await page.locator('.viewer-overlay').textContent()).toContain('Viewer Test');
    const stats = await canvasStats(page);
    expect(stats!.width).toBeGreaterThan(100);
    expect(stats!.nonBlackFraction).toBeGreaterThan(0.05);
    expect(stats!.levels).toBeGreaterThan(10);
    const online = { scalar: await scalarHash(page), canvas: await canvasStats(page) };
    console.log(
      `viewer: first image online (setStack → rendered) ${await page.evaluate(() => (window as unknown as { __pacsViewerFirstImageMs?: number }).__pacsViewerFirstImageMs?.toFixed(0))} ms`,
    );
    expect(online.scalar!.length).toBe(256 * 256);
  });

  it('decodes the rest of the series ahead of scrolling (stack prefetch)', async () => {
    const { page } = await openStudy(ct.id);
    const decoded = () =>
      page.evaluate(() => (window as unknown as { __pacsViewer: { decodedInStack(): number } }).__pacsViewer.decodedInStack());
    await expect.poll(decoded).toBe(12);
    expect((await viewerState(page))?.index).toBe(0);
  });

  it('draws the first image before anything else: no empty viewport drawn, no other frame asked for first', async () => {
    const { page } = await desks.open(SCREEN);
    // Every frame request (the image loader's XHR, our fetch) and every draw of the viewport, in page order.
    await page.addInitScript({
      content: `
        const log = (window.__drawLog = []);
        const frames = (url) => String(url).includes('/frames/') && log.push({ request: new URL(String(url), location.href).pathname });
        const open = XMLHttpRequest.prototype.open;
        XMLHttpRequest.prototype.open = function (method, url, ...rest) { frames(url); return open.call(this, method, url, ...rest); };
        const fetchOriginal = window.fetch;
        window.fetch = (input, init) => { frames(input instanceof Request ? input.url : input); return fetchOriginal(input, init); };
        document.addEventListener('CORNERSTONE_IMAGE_RENDERED', (event) => {
          if (!event.target.matches || !event.target.matches('[data-testid="viewport"]')) return;
          const state = window.__pacsViewer && window.__pacsViewer.state();
          log.push({ drawn: state ? state.imageId : null });
        }, true);`,
    });
    await page.goto(`${system.url}/viewer/${ct.id}?source=online`);
    await waitForImage(page, FIRST_IMAGE_TIMEOUT_MS);
    const first = (await viewerState(page))!.imageId;
    type Entry = { request?: string; drawn?: string | null };
    const read = () => page.evaluate(() => (window as unknown as { __drawLog: Entry[] }).__drawLog);
    const firstDrawIn = (log: Entry[]) => log.findIndex((entry) => 'drawn' in entry);
    // The prefetch asks for the rest of the series once the first image is on screen.
    await expect
      .poll(async () => {
        const log = await read();
        const firstDraw = firstDrawIn(log);
        return firstDraw >= 0 && log.slice(firstDraw).some((entry) => entry.request);
      })
      .toBe(true);
    const log = await read();
    const firstDraw = firstDrawIn(log);
    expect(log[firstDraw]?.drawn).toBe(first);
    const before = log.slice(0, firstDraw).map((entry) => entry.request);
    expect(before.length).toBeGreaterThan(0);
    expect(new Set(before)).toEqual(new Set([new URL(first.slice('wadors:'.length)).pathname]));
  });

  it('scrolls the stack with the keyboard and the wheel', async () => {
    const { page } = await openStudy(ct.id);
    await page.getByTestId('viewport').focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    await expect.poll(async () => (await viewerState(page))?.index).toBe(3);
    const box = (await page.getByTestId('viewport').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 120);
    await expect.poll(async () => (await viewerState(page))?.index).toBeGreaterThan(3);
    await page.keyboard.press('Home');
    await expect.poll(async () => (await viewerState(page))?.index).toBe(0);
    await expect.poll(async () => page.getByTestId('viewport-message').count()).toBe(0);
  });

  it('changes window/level with a preset and by dragging', async () => {
    const { page } = await openStudy(ct.id);
    await page.getByLabel('Window preset').selectOption('lung');
    await expect.poll(async () => (await viewerState(page))?.voi).toEqual({ lower: -1350, upper: 150 });
    await expect.poll(() => page.getByTestId('overlay-voi').textContent()).toContain('W 1500 L -600');
    const before = (await viewerState(page))!.voi!;
    const box = (await page.getByTestId('viewport').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 40, { steps: 8 });
    await page.mouse.up();
    const after = (await viewerState(page))!.voi!;
    expect(after.upper - after.lower).not.toBe(before.upper - before.lower);
    const stats = await canvasStats(page);
    expect(stats!.nonBlackFraction).toBeGreaterThan(0.01);
  });

  it('measures a length of known size: 100 image pixels at PixelSpacing 380/256 mm = 148.4 mm (±1 pixel)', async () => {
    const { page } = await openStudy(ct.id);
    await (await toolbarButton(page, 'Reset')).click();
    await page.getByRole('button', { name: 'Length' }).click();
    const state = (await viewerState(page))!;
    expect(state.pixelSpacing[0]).toBeCloseTo(CT_PIXEL_SPACING_MM, 5);
    await dragImage(page, [60, 128], [160, 128]);
    // Cornerstone recomputes a measurement's stats at the next annotation render after its handles
    // move; reading them before that returned the value of an earlier drag step (the "0.8×" once
    // pinned here as a defect). Wait for stats that belong to the final handles.
    const [length] = await settledMeasurements(page, 1);
    const [[x1, y1], [x2, y2]] = length!.points as [[number, number], [number, number]];
    // Screen pixels are snapped: within one image pixel of where the drag started and ended.
    expect(Math.abs(x1 - 60)).toBeLessThan(1);
    expect(Math.abs(x2 - 160)).toBeLessThan(1);
    expect(Math.abs(y1 - 128) + Math.abs(y2 - 128)).toBeLessThan(2);
    const expected = 100 * CT_PIXEL_SPACING_MM;
    // The value follows the handles (to 0.001 mm; handles pass through float32), and is the known length within one pixel of mouse snapping.
    expect(length!.stats.length).toBeCloseTo(Math.hypot(x2 - x1, y2 - y1) * CT_PIXEL_SPACING_MM, 3);
    expect(Math.abs(length!.stats.length! - expected)).toBeLessThan(CT_PIXEL_SPACING_MM);
    expect(length!.stats.unit).toBe('mm');
    // What the radiologist reads beside the line.
    expect(length!.text).toMatch(/\b14[78](\.\d+)? mm\b/);
    expect((await viewerState(page))!.lengths).toEqual([length!.stats.length]);
  });

  it('clears measurements', async () => {
    const { page } = await openStudy(ct.id);
    // a length to clear
    await page.getByRole('button', { name: 'Length' }).click();
    await dragImage(page, [60, 128], [160, 128]);
    await settledMeasurements(page, 1);
    expect((await viewerState(page))!.lengths).toHaveLength(1);
    await (await toolbarButton(page, 'Clear measurements')).click();
    await expect.poll(async () => (await viewerState(page))?.lengths.length).toBe(0);
  });

  it('makes the study available offline, then opens it with the network off: same pixels', async () => {
    const { context, page } = await desks.openProfile(SCREEN);
    await page.goto(`${system.url}/viewer/${ct.id}?source=online`);
    await setOfflinePin(page);
    await waitForImage(page, FIRST_IMAGE_TIMEOUT_MS);
    // what the device must show offline: the first image as it comes from the archive
    const online = { scalar: await scalarHash(page), canvas: await canvasStats(page) };
    expect(online.scalar!.length).toBe(256 * 256);
    await page.getByRole('button', { name: 'Make available offline' }).click();
    await expect.poll(() => page.getByTestId('offline-state').textContent(), { timeout: 60_000 }).toContain('Available offline');
    // the rows at rest are ciphertext
    const atRest = await page.evaluate(async () => {
      const names = (await indexedDB.databases())
        .map((d) => d.name ?? '')
        .filter((n) => n.startsWith('pacs-worklist-') && !n.includes('.'));
      const open = indexedDB.open(names[0]!);
      const db = await new Promise<IDBDatabase>((resolve) => {
        open.onsuccess = () => resolve(open.result);
      });
      const tx = db.transaction('offlineFrames');
      const all = await new Promise<{ data: ArrayBuffer }[]>((resolve) => {
        const req = tx.objectStore('offlineFrames').getAll();
        req.onsuccess = () => resolve(req.result as { data: ArrayBuffer }[]);
      });
      db.close();
      return { frames: all.length, isBuffer: all.every((r) => r.data instanceof ArrayBuffer) };
    });
    expect(atRest).toEqual({ frames: 12, isBuffer: true });

    // The service worker must control the page before the network goes away.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await page.reload();
    await page.waitForFunction(() => !!navigator.serviceWorker.controller);
    await context.setOffline(true);
    try {
      await page.goto(`${system.url}/viewer/${ct.id}`);
      await enterOfflinePin(page);
      const state = await waitForImage(page);
      expect(await page.evaluate(() => (window as unknown as { __pacsViewer: { source(): string } }).__pacsViewer.source())).toBe(
        'offline',
      );
      expect(state.count).toBe(12);
      expect(state.imageId.startsWith('pacsoff:')).toBe(true);
      console.log(
        `viewer: first image offline (setStack → rendered) ${await page.evaluate(() => (window as unknown as { __pacsViewerFirstImageMs?: number }).__pacsViewerFirstImageMs?.toFixed(0))} ms`,
      );
      expect(await scalarHash(page)).toEqual(online.scalar);
      const stats = await canvasStats(page);
      expect(stats!.nonBlackFraction).toBeGreaterThan(0.05);
      expect(stats!.hash).toBe(online.canvas!.hash);
      // series thumbnails render from the encrypted store too
      await expect
        .poll(() => page.getByRole('navigation', { name: 'Series' }).locator('.viewer-thumb').first().getAttribute('data-state'))
        .toBe('shown');
      // a study that is not on the device says so
      await page.goto(`${system.url}/viewer/00000000-0000-4000-8000-000000000000`);
      await enterOfflinePin(page);
      await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/not on this device|unreachable/);
    } finally {
      await context.setOffline(false);
    }
    await expectStillSignedIn(page);
  });
});

describe('viewer, non-square pixels (PixelSpacing 0.5\\1.0)', () => {
  const [ROW_MM, COLUMN_MM] = NON_SQUARE;

  it('draws the image 256 mm wide and 128 mm high, where the test hook says it is', async () => {
    const { page } = await desks.open(SCREEN);
    await page.goto(`${system.url}/viewer/${nonSquare.id}?source=online`);
    const state = await waitForImage(page, FIRST_IMAGE_TIMEOUT_MS).catch(async (error: Error) => {
      const shown = await page.evaluate(() => ({
        url: location.pathname,
        message: document.querySelector('[data-testid="viewport-message"]')?.textContent ?? null,
        alert: [...document.querySelectorAll('[role="alert"]')].map((e) => e.textContent),
      }));
      throw new Error(`${error.message}; page: ${JSON.stringify(shown)}`);
    });
    expect(state.dimensions?.slice(0, 2)).toEqual([256, 256]);
    // The hook's pixelSpacing is [x (between columns), y (between rows)].
    expect(state.pixelSpacing[0]).toBeCloseTo(COLUMN_MM, 6);
    expect(state.pixelSpacing[1]).toBeCloseTo(ROW_MM, 6);
    // Independent of any mapping: the lit rectangle on the canvas (air outside the body is about −1000 HU,
    // mid grey in the file's chest window; the viewport background is black), in page pixels.
    const drawn = await page.evaluate(() => {
      const canvas = document.querySelector('[data-testid="viewport"] canvas') as HTMLCanvasElement;
      const copy = document.createElement('canvas');
      copy.width = canvas.width;
      copy.height = canvas.height;
      const ctx = copy.getContext('2d')!;
      ctx.drawImage(canvas, 0, 0);
      const { data } = ctx.getImageData(0, 0, copy.width, copy.height);
      let [x0, y0, x1, y1] = [copy.width, copy.height, -1, -1];
      for (let y = 0; y < copy.height; y++)
        for (let x = 0; x < copy.width; x++)
          if (data[(y * copy.width + x) * 4]! > 24) {
            x0 = Math.min(x0, x);
            x1 = Math.max(x1, x + 1);
            y0 = Math.min(y0, y);
            y1 = Math.max(y1, y + 1);
          }
      const rect = canvas.getBoundingClientRect();
      const r = canvas.width / rect.width;
      return { left: rect.left + x0 / r, top: rect.top + y0 / r, right: rect.left + x1 / r, bottom: rect.top + y1 / r };
    });
    const width = drawn.right - drawn.left;
    const height = drawn.bottom - drawn.top;
    // 256 columns × 1.0 mm by 256 rows × 0.5 mm: twice as wide as high (to a page pixel on each edge).
    expect(Math.abs(width / height - (256 * COLUMN_MM) / (256 * ROW_MM))).toBeLessThan(4 / height);
    // The hook's image → page mapping (which the length drags below and the corpus check rely on) agrees.
    const topLeft = (await paneImageToPage(page, 0, 0))!;
    const bottomRight = (await paneImageToPage(page, 256, 256))!;
    const pagePixel = width / 256 / COLUMN_MM; // page pixels per mm, the same both ways
    expect(pagePixel).toBeGreaterThan(1);
    for (const [got, want] of [
      [topLeft.x, drawn.left],
      [topLeft.y, drawn.top],
      [bottomRight.x, drawn.right],
      [bottomRight.y, drawn.bottom],
    ] as const)
      expect(Math.abs(got - want)).toBeLessThan(1.5);
  });

  it('measures a horizontal length of 100 columns as 100 mm and a vertical one of 100 rows as 50 mm (±1 pixel)', async () => {
    const { page } = await openStudy(nonSquare.id);
    await (await toolbarButton(page, 'Clear measurements')).click();
    await page.getByRole('button', { name: 'Length' }).click();
    await dragImage(page, [60, 100], [160, 100]);
    await settledMeasurements(page, 1);
    await dragImage(page, [200, 60], [200, 160]);
    const [horizontal, vertical] = await settledMeasurements(page, 2);
    const [[hx1, hy1], [hx2, hy2]] = horizontal!.points as [[number, number], [number, number]];
    const [[vx1, vy1], [vx2, vy2]] = vertical!.points as [[number, number], [number, number]];
    // Handles within one image pixel of the drag's ends.
    for (const [got, want] of [
      [hx1, 60],
      [hy1, 100],
      [hx2, 160],
      [hy2, 100],
      [vx1, 200],
      [vy1, 60],
      [vx2, 200],
      [vy2, 160],
    ] as const)
      expect(Math.abs(got - want)).toBeLessThan(1);
    // The value in mm follows the handles with each axis at its own spacing …
    expect(horizontal!.stats.length).toBeCloseTo(Math.hypot((hx2 - hx1) * COLUMN_MM, (hy2 - hy1) * ROW_MM), 3);
    expect(vertical!.stats.length).toBeCloseTo(Math.hypot((vx2 - vx1) * COLUMN_MM, (vy2 - vy1) * ROW_MM), 3);
    // … and is the known length within one pixel (1.0 mm across, 0.5 mm down).
    expect(Math.abs(horizontal!.stats.length! - 100 * COLUMN_MM)).toBeLessThan(COLUMN_MM);
    expect(Math.abs(vertical!.stats.length! - 100 * ROW_MM)).toBeLessThan(ROW_MM);
    expect(horizontal!.stats.unit).toBe('mm');
    expect(vertical!.stats.unit).toBe('mm');
    // What the radiologist reads beside the lines (the text box follows the stats at the next annotation render).
    await expect
      .poll(async () => (await paneState(page))!.measurements.map((m) => m.text))
      .toEqual([expect.stringMatching(/\b(99|100)(\.\d+)? mm\b/), expect.stringMatching(/\b(49|50)(\.\d+)? mm\b/)]);
    await (await toolbarButton(page, 'Clear measurements')).click();
    await expect.poll(async () => (await viewerState(page))?.lengths.length).toBe(0);
  });
});

/** Runs a DCMTK tool (Debian package dcmtk). */
function dcmtk(tool: string, args: string[]): void {
  const result = spawnSync(tool, args, { encoding: 'utf8' });
  expect(result.status, `${tool} ${args.join(' ')}: ${result.stderr}`).toBe(0);
}

/** Stores files in Orthanc over REST (as they are: no transcoding), ingests their study; answers its id and Orthanc's. */
async function storeAsIs(files: string[]): Promise<{ id: string; instances: string[] }> {
  const orthanc = await system.orthancInfo();
  const instances: string[] = [];
  for (const file of files) {
    const answer = await uploadInstance(orthanc, readFileSync(file));
    if (!answer.ok) throw new Error(`Orthanc refused ${path.basename(file)} (HTTP ${answer.httpStatus})`);
    instances.push(answer.instance);
  }
  const parent = (await (await orthancFetch(orthanc, `/instances/${instances[0]}/study`)).json()) as { ID: string };
  const { id } = await system.ingestStudy(await studyInstanceUid(orthanc, parent.ID));
  return { id, instances };
}

/**
 * In a fresh profile: opens the study online, makes it available offline, opens it with the network off:
 * same pixels, every image; back online, still signed in.
 */
async function offlineRoundTrip(id: string, count: number): Promise<void> {
  const { context, page } = await desks.openProfile(SCREEN);
  await page.goto(`${system.url}/viewer/${id}?source=online`);
  await setOfflinePin(page);
  expect((await waitForImage(page, FIRST_IMAGE_TIMEOUT_MS)).count).toBe(count);
  const onlineHash = await scalarHash(page);
  expect(onlineHash?.length).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Make available offline' }).click();
  await expect.poll(() => page.getByTestId('offline-state').textContent(), { timeout: 60_000 }).toContain('Available offline');
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.reload();
  await page.waitForFunction(() => !!navigator.serviceWorker.controller);
  await context.setOffline(true);
  try {
    await page.goto(`${system.url}/viewer/${id}`);
    await enterOfflinePin(page);
    const state = await waitForImage(page);
    expect(state.imageId.startsWith('pacsoff:')).toBe(true);
    expect(state.count).toBe(count);
    expect(await scalarHash(page)).toEqual(onlineHash);
    expect((await canvasStats(page))!.nonBlackFraction).toBeGreaterThan(0.05);
    if (count > 1) {
      // every image decodes from the device
      await page.getByTestId('viewport').focus();
      await page.keyboard.press('End');
      await page.waitForFunction((last) => {
        const s = (window as unknown as { __pacsViewer?: { state(): { index: number } | null } }).__pacsViewer?.state();
        return s?.index === last && !document.querySelector('[data-testid="viewport-message"]');
      }, count - 1);
    }
  } finally {
    await context.setOffline(false);
  }
  await expectStillSignedIn(page);
}

describe('offline download of what Orthanc cannot send as stored', () => {
  it('a study stored in Explicit VR Big Endian (500 to transfer-syntax=*): same pixels from the device', async () => {
    // The synthetic CT (3 slices) converted with DCMTK's dcmconv +tb.
    const { generateStudy } = await import('@pacs/test-kit/demo-studies');
    const scratch = desks.scratchDir();
    const files = generateStudy(ctSpec('E2E-VIEW-BE', 3), 13).files.map((file, i) => {
      const little = path.join(scratch, `be-${i}-le.dcm`);
      const big = path.join(scratch, `be-${i}.dcm`);
      writeFileSync(little, file);
      dcmtk('dcmconv', ['+tb', little, big]);
      return big;
    });
    const { id, instances } = await storeAsIs(files);
    const orthanc = await system.orthancInfo();
    expect((await (await orthancFetch(orthanc, `/instances/${instances[0]}/metadata/TransferSyntax`)).text()).trim()).toBe(
      '1.2.840.10008.1.2.2',
    );
    await offlineRoundTrip(id, 3);
  });

  it('a palette colour image whose lookup tables the metadata links as bulk data: same pixels from the device', async () => {
    // A colour test pattern (BMP → img2dcm) quantised to PALETTE COLOR with 16-bit table entries (dcmquant +pe).
    const scratch = desks.scratchDir();
    const bmpFile = path.join(scratch, 'pattern.bmp');
    writeFileSync(bmpFile, colourBmp(96, 64));
    const rgb = path.join(scratch, 'pattern-rgb.dcm');
    const palette = path.join(scratch, 'pattern-palette.dcm');
    dcmtk('img2dcm', ['-q', '-i', 'BMP', bmpFile, rgb]);
    dcmtk('dcmquant', ['+pe', rgb, palette]);
    const { id, instances } = await storeAsIs([palette]);
    // The case this covers: Orthanc's DICOMweb metadata gives the tables as BulkDataURI, not values.
    const orthanc = await system.orthancInfo();
    const { MainDicomTags } = (await (await orthancFetch(orthanc, `/instances/${instances[0]}`)).json()) as {
      MainDicomTags: { SOPInstanceUID: string };
    };
    const study = (await (await orthancFetch(orthanc, `/instances/${instances[0]}/study`)).json()) as {
      MainDicomTags: { StudyInstanceUID: string };
    };
    const metadata = (await (
      await orthancFetch(orthanc, `/dicom-web/studies/${study.MainDicomTags.StudyInstanceUID}/metadata`)
    ).json()) as Record<string, { BulkDataURI?: string; Value?: unknown[] }>[];
    const instance = metadata.find((m) => m['00080018']?.Value?.[0] === MainDicomTags.SOPInstanceUID);
    expect(instance?.['00281201']?.BulkDataURI, 'red table as bulk data').toBeTruthy();
    await offlineRoundTrip(id, 1);
  });
});

describe('a frame that never arrives', () => {
  it('ends in the viewport message after the load timeout, not in "Loading image…" for ever', async () => {
    const { context, page } = await desks.open(SCREEN);
    const hang = () => {}; // requests routed here are never answered
    await context.route('**/frames/**', hang);
    try {
      await page.evaluate(() => localStorage.setItem('pacs.viewer.loadTimeoutS', '2'));
      await page.goto(`${system.url}/viewer/${nonSquare.id}?source=online`);
      const message = page.getByTestId('viewport-message');
      await expect.poll(() => message.textContent()).toContain('Loading image');
      await page.waitForFunction(
        () => document.querySelector('[data-testid="viewport-message"]')?.getAttribute('role') === 'alert',
        undefined,
        {
          timeout: 15_000,
        },
      );
      expect(await message.textContent()).toMatch(/cannot be loaded: no image within 2 s/);
      // the page stays usable
      await page.getByRole('navigation', { name: 'Series' }).getByRole('button').first().focus();
      expect(await page.evaluate(() => document.activeElement?.closest('nav')?.getAttribute('aria-label'))).toBe('Series');
    } finally {
      await context.unroute('**/frames/**', hang);
      await page.evaluate(() => localStorage.removeItem('pacs.viewer.loadTimeoutS'));
    }
    // with the archive answering again, the same study shows its image
    await page.goto(`${system.url}/viewer/${nonSquare.id}?source=online`);
    await waitForImage(page);
  });
});
