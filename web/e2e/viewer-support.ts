/**
 * Viewer e2e support: the same system as support.ts (e2e/server.mjs: real API + gateway) but with a real
 * Orthanc (PACS_E2E_ORTHANC=1) so studies go the whole way: generated DICOM → C-STORE → ingestion →
 * /dicom-web proxy → Cornerstone3D in Chromium.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StudySpec } from '@pacs/test-kit/demo-studies';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { MeasurementState } from '../src/viewer/test-hook';
import { launchBrowser, launchPersistentProfile, RADIOLOGIST, type System, signIn, startSystem } from './support';

export type { DicomStudy } from './support';
export type ViewerSystem = System;

/** The e2e system with a real Orthanc, so studies go generated DICOM → C-STORE → ingestion → viewer. */
export const startViewerSystem = () => startSystem({ orthanc: true });

/** A signed-in browser of one test: its context and the page it signed in on. */
export interface ViewerDesk {
  context: BrowserContext;
  page: Page;
}

/**
 * Opens what each viewer test runs in and closes it after the test (`closeAll` in afterEach), so no
 * test sees another's page, viewer state, IndexedDB or service worker. The studies stay shared: they
 * are read-only inputs, stored once per file.
 */
export class ViewerDesks {
  private browser: Promise<Browser> | undefined;
  private readonly contexts: BrowserContext[] = [];
  private readonly dirs: string[] = [];
  constructor(readonly url: string) {}

  /**
   * A fresh browser context signed in as the radiologist: for everything that stays online. Without the
   * service worker: these tests do not use it, and its install would download the whole app a second time
   * in every test's fresh context, while the page loads.
   */
  async open(viewport: { width: number; height: number }): Promise<ViewerDesk> {
    // One browser process per file, started by the first test that needs it.
    this.browser ??= launchBrowser();
    const context = await (await this.browser).newContext({ viewport, serviceWorkers: 'block' });
    this.contexts.push(context);
    const page = await context.newPage();
    await signIn(page, this.url, RADIOLOGIST);
    return { context, page };
  }

  /**
   * A fresh persistent Chromium profile signed in as the radiologist: for the offline tests, whose
   * encrypted IndexedDB, "available offline" marks and service worker must start empty and end with the test.
   */
  async openProfile(viewport: { width: number; height: number }): Promise<ViewerDesk> {
    const context = await launchPersistentProfile(this.scratchDir('pacs-e2e-viewer-profile-'), viewport);
    this.contexts.push(context);
    const page = context.pages()[0] ?? (await context.newPage());
    await signIn(page, this.url, RADIOLOGIST);
    return { context, page };
  }

  /** A temporary directory removed after the test. */
  scratchDir(prefix = 'pacs-e2e-viewer-'): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  async closeAll(): Promise<void> {
    const contexts = this.contexts.splice(0);
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  /** After the file: the test contexts and the browser. */
  async stop(): Promise<void> {
    await this.closeAll();
    const browser = this.browser;
    this.browser = undefined;
    await (await browser?.catch(() => undefined))?.close();
  }
}

export interface ViewerState {
  index: number;
  count: number;
  imageId: string;
  voi: { lower: number; upper: number } | null;
  lengths: number[];
  lengthPoints: number[][][];
  pixelSpacing: number[];
  dimensions: number[] | null;
}

type Hook = {
  state(): ViewerState | null;
  source(): string | null;
  imageToPage(x: number, y: number): { x: number; y: number } | null;
  scalarHash(): { hash: number; length: number } | null;
  canvasStats(): { width: number; height: number; nonBlackFraction: number; levels: number; hash: number } | null;
};

export function viewerState(page: Page): Promise<ViewerState | null> {
  return page.evaluate(() => (window as unknown as { __pacsViewer?: Hook }).__pacsViewer?.state() ?? null);
}
export function canvasStats(page: Page) {
  return page.evaluate(() => (window as unknown as { __pacsViewer?: Hook }).__pacsViewer?.canvasStats() ?? null);
}
export function scalarHash(page: Page) {
  return page.evaluate(() => (window as unknown as { __pacsViewer?: Hook }).__pacsViewer?.scalarHash() ?? null);
}
export function imageToPage(page: Page, x: number, y: number) {
  return page.evaluate(([px, py]) => (window as unknown as { __pacsViewer?: Hook }).__pacsViewer?.imageToPage(px!, py!) ?? null, [x, y]);
}

/**
 * How long a test's first viewer page may take to show its image. Each test's context starts with nothing
 * cached, so the page first downloads and compiles the viewer bundle (3.7 MB): on the shared two-core
 * machine that download alone has taken 16 s.
 */
export const FIRST_IMAGE_TIMEOUT_MS = 60_000;

/** Waits until the viewport shows an image (no loading/error message, a state to read). */
export async function waitForImage(page: Page, timeout = 30_000): Promise<ViewerState> {
  await page.waitForFunction(
    () => {
      const hook = (window as unknown as { __pacsViewer?: Hook }).__pacsViewer;
      return !!hook?.state() && !document.querySelector('[data-testid="viewport-message"]');
    },
    undefined,
    { timeout },
  );
  return (await viewerState(page))!;
}

/** A generated CT study: 256×256, chest phantom (PixelSpacing 380/256 mm), HU with RescaleIntercept -1024. */
export function ctSpec(accession: string, instances = 12): StudySpec {
  return {
    patient: { name: 'Viewer^Test', id: `PID-${accession}`, birthDate: '19700101', sex: 'F' },
    studyDate: '20261101',
    studyTime: '101500',
    accessionNumber: accession,
    description: 'CT CHEST',
    priority: 'ROUTINE',
    series: [{ modality: 'CT', description: 'Axial chest', instances, bodyPart: 'CHEST' }],
  };
}
export const CT_PIXEL_SPACING_MM = 380 / 256;

// ---- viewer tools: two viewports, measurements, view state ----

export interface ViewerToolsState extends ViewerState {
  invert: boolean;
  rotation: number;
  flipHorizontal: boolean;
  flipVertical: boolean;
  zoom: number;
  pan: number[];
  measurements: MeasurementState[];
}

type PaneHook = {
  panes(): number;
  state(pane?: number): ViewerToolsState | null;
  imageToPage(x: number, y: number, pane?: number): { x: number; y: number } | null;
  canvasPixel(x: number, y: number, pane?: number): number | null;
  canvasStats(pane?: number): { width: number; height: number; nonBlackFraction: number; levels: number; hash: number } | null;
};

export function paneState(page: Page, pane = 0): Promise<ViewerToolsState | null> {
  return page.evaluate((p) => (window as unknown as { __pacsViewer?: PaneHook }).__pacsViewer?.state(p) ?? null, pane);
}
export function paneImageToPage(page: Page, x: number, y: number, pane = 0) {
  return page.evaluate(
    ([px, py, p]) => (window as unknown as { __pacsViewer?: PaneHook }).__pacsViewer?.imageToPage(px!, py!, p) ?? null,
    [x, y, pane],
  );
}
/** Grey level of the rendered canvas at an image pixel. */
export function paneCanvasPixel(page: Page, x: number, y: number, pane = 0) {
  return page.evaluate(
    ([px, py, p]) => (window as unknown as { __pacsViewer?: PaneHook }).__pacsViewer?.canvasPixel(px!, py!, p) ?? null,
    [x, y, pane],
  );
}
export function paneCanvasStats(page: Page, pane = 0) {
  return page.evaluate((p) => (window as unknown as { __pacsViewer?: PaneHook }).__pacsViewer?.canvasStats(p) ?? null, pane);
}

/** Waits until viewport `pane` shows an image (no loading/error message there). */
export async function waitForPaneImage(page: Page, pane: number, timeout = 30_000): Promise<ViewerToolsState> {
  const testId = pane === 0 ? 'viewport-message' : `viewport-message-${pane + 1}`;
  await page.waitForFunction(
    ([p, id]) => {
      const hook = (window as unknown as { __pacsViewer?: PaneHook }).__pacsViewer;
      return !!hook?.state(p as number) && !document.querySelector(`[data-testid="${id}"]`);
    },
    [pane, testId] as const,
    { timeout },
  );
  return (await paneState(page, pane))!;
}

/** The measurements of viewport `pane` once Cornerstone has computed their stats for the final handle positions. */
export async function settledMeasurements(page: Page, count: number, pane = 0): Promise<MeasurementState[]> {
  await page.waitForFunction(
    ([p, n]) => {
      const list = (window as unknown as { __pacsViewer?: PaneHook }).__pacsViewer?.state(p)?.measurements ?? [];
      return list.length === n && list.every((m) => !m.stale && m.text.length > 0);
    },
    [pane, count] as const,
    { timeout: 10_000 },
  );
  return (await paneState(page, pane))!.measurements;
}

/** Left-button drag between two image pixels of viewport `pane`, in `steps` mouse moves. */
export async function dragImage(page: Page, from: [number, number], to: [number, number], pane = 0, steps = 10) {
  const a = (await paneImageToPage(page, from[0], from[1], pane))!;
  const b = (await paneImageToPage(page, to[0], to[1], pane))!;
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps });
  await page.mouse.up();
}

/**
 * A button of the viewer's toolbar by its name; on a tablet's width the occasional tools sit under
 * "More", which is opened first (using one closes it again).
 */
export async function toolbarButton(page: Page, name: string) {
  const button = page.locator('.viewer-toolbar').getByRole('button', { name, exact: true });
  if ((await button.count()) === 0) await page.locator('.viewer-more > button').click();
  return button;
}
