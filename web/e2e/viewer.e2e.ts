/**
 * The viewer (issue 7) in Debian's Chromium: a generated CT study stored in a real Orthanc, ingested
 * by the API, streamed through /dicom-web with the user's token; stack scroll, W/L, a length of known
 * size, a non-blank canvas; then "Make available offline", offline reload, same pixels from IndexedDB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchPersistentProfile, RADIOLOGIST, signIn } from './support';
import {
  CT_PIXEL_SPACING_MM,
  canvasStats,
  ctSpec,
  type DicomStudy,
  dragImage,
  scalarHash,
  settledMeasurements,
  startViewerSystem,
  type ViewerSystem,
  viewerState,
  waitForImage,
} from './viewer-support';

let system: ViewerSystem;
let context: BrowserContext;
let page: Page;
let profileDir: string;
let ct: DicomStudy;

beforeAll(async () => {
  system = await startViewerSystem();
  ct = await system.storeStudy(ctSpec('E2E-VIEW-1', 12), 11);
  profileDir = mkdtempSync(path.join(os.tmpdir(), 'pacs-e2e-viewer-'));
  context = await launchPersistentProfile(profileDir, { width: 1180, height: 820 });
  page = context.pages()[0] ?? (await context.newPage());
  await signIn(page, system.url, RADIOLOGIST);
});

afterAll(async () => {
  await context?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await system?.stop();
});

describe('viewer', () => {
  let online: { scalar: { hash: number; length: number } | null; canvas: { hash: number } | null };

  it('opens a CT study through /dicom-web: series panel, overlay, a non-blank image', async () => {
    await page.goto(`${system.url}/viewer/${ct.id}?source=online`);
    const state = await waitForImage(page);
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
    online = { scalar: await scalarHash(page), canvas: await canvasStats(page) };
    console.log(
      `viewer: first image online (setStack → rendered) ${await page.evaluate(() => (window as unknown as { __pacsViewerFirstImageMs?: number }).__pacsViewerFirstImageMs?.toFixed(0))} ms`,
    );
    expect(online.scalar!.length).toBe(256 * 256);
  });

  it('scrolls the stack with the keyboard and the wheel', async () => {
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
    await page.getByRole('button', { name: 'Reset' }).click();
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
    await page.getByRole('button', { name: 'Clear measurements' }).click();
    await expect.poll(async () => (await viewerState(page))?.lengths.length).toBe(0);
  });

  it('makes the study available offline, then opens it with the network off: same pixels', async () => {
    await page.goto(`${system.url}/viewer/${ct.id}?source=online`);
    await waitForImage(page);
    await page.getByRole('button', { name: 'Make available offline' }).click();
    await expect.poll(() => page.getByTestId('offline-state').textContent(), { timeout: 60_000 }).toContain('Available offline');
    // the rows at rest are ciphertext
    const atRest = await page.evaluate(async () => {
      const names = (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith('pacs-worklist-'));
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
      await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/not on this device|unreachable/);
    } finally {
      await context.setOffline(false);
    }
  });
});
